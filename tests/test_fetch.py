"""Downloads are verified before use; a tampered cache is refused, never used."""
import hashlib

import pytest

from wasmbuild import fetch
from wasmbuild.errors import SourceError
from wasmbuild.model import Download


def test_download_verified_then_tampered_copy_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("WASMBUILD_CACHE", str(tmp_path / "cache"))
    src = tmp_path / "dep-1.0.tar.gz"
    src.write_bytes(b"real contents")
    sha = hashlib.sha256(b"real contents").hexdigest()
    dl = Download(file="dep-1.0.tar.gz", sha256=sha, urls=[f"file://{src}"])
    cached = fetch.fetch(dl)
    assert cached.read_bytes() == b"real contents"
    cached.write_bytes(b"tampered")
    with pytest.raises(SourceError) as e:
        fetch.fetch(dl)
    msg = str(e.value)
    assert str(cached) in msg and sha in msg
    assert hashlib.sha256(b"tampered").hexdigest() in msg


def test_mismatching_download_is_never_moved_into_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("WASMBUILD_CACHE", str(tmp_path / "cache"))
    src = tmp_path / "evil.tar.gz"
    src.write_bytes(b"not what the YAML pinned")
    dl = Download(file="evil.tar.gz", sha256="0" * 64, urls=[f"file://{src}"])
    with pytest.raises(SourceError, match="sha256"):
        fetch.fetch(dl)
    assert not fetch.cached_path(dl).exists()
    assert list((tmp_path / "cache" / "downloads").iterdir()) == []


def test_default_source_from_a_release_tarball_url(fake, tmp_path):
    """The default-source path, from a local file URL: fetched, verified, unpacked once,
    shared by every cross-build dir."""
    import subprocess
    import sys
    import tarfile

    import yaml

    from fakes import PROJECT
    tarball = tmp_path / "Python-3.13.9.tar.xz"
    with tarfile.open(tarball, "w:xz") as tf:
        tf.add(fake.src, arcname="Python-3.13.9")
    shared = yaml.safe_load((fake.targets / "_shared.yaml").read_text())
    shared["cpython_version"] = "3.13.9"
    shared["cpython"] = {"file": tarball.name, "urls": [f"file://{tarball}"],
                         "sha256": hashlib.sha256(tarball.read_bytes()).hexdigest()}
    (fake.targets / "_shared.yaml").write_text(yaml.safe_dump(shared))

    def run(*args):
        return subprocess.run([sys.executable, "-m", "doit", "-f", str(PROJECT / "dodo.py"), "-d",
                               str(PROJECT), f"targets={fake.targets}", "provider=system", *args],
                              env=fake.env(), capture_output=True, text=True)
    out = run("source:cpython")
    assert out.returncode == 0, out.stderr
    unpacked = fake.cache / "sources" / "cpython-3.13.9"
    assert (unpacked / "configure").exists() and (unpacked / "Lib" / "os.py").exists()
    again = run("source:cpython", f"cross_build={tmp_path / 'other'}")
    assert ".  source:cpython" not in again.stdout
