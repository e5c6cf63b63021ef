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
