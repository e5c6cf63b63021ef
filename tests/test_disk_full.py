"""A full disk while the stdlib zip is written: one clear line, nothing half-written,
and the next run (with space again) finishes. The full disk is real: the target's build
folder is a 64 KiB tmpfs in a private mount namespace (unshare, as root)."""
import base64
import os
import zipfile


SMALL_DISK = 96 * 1024


def test_disk_full_while_writing_the_zip(fake):
    # a module whose .pyc does not compress: the zip cannot fit in the small disk
    blob = base64.b85encode(os.urandom(200_000)).decode()
    (fake.src / "Lib" / "big_blob.py").write_text(f"BLOB = {blob!r}\n")
    bdir = fake.cross_build / "wasm32-emscripten"
    bdir.mkdir(parents=True)
    listing = fake.tmp / "after.txt"
    # everything else the fake build writes there is a few KiB; the zip is > 150 KiB
    script = ('mount -t tmpfs -o size=%d tmpfs "$1" && shift && "$@"; rc=$?; '
              'ls -A "%s" > "%s"; exit $rc' % (SMALL_DISK, bdir, listing))
    out = fake.doit("host:emscripten", check=False,
                    wrap=["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", str(bdir)])
    text = out.stdout + out.stderr
    assert out.returncode != 0, text
    lines = [l for l in text.splitlines() if "no space left on device" in l]
    assert len(lines) == 1, text
    assert f"while writing {bdir / 'python313.zip'}" in lines[0] and "free some space" in lines[0]
    assert "Traceback" not in text
    left = listing.read_text().split()
    assert "python.js" in left                      # the disk was there: the steps before ran
    assert not [f for f in left if f.endswith(".zip") or f.endswith(".tmp")], left
    # space again (the namespace is gone): the next run finishes with the module in the zip
    fake.doit("host:emscripten")
    with zipfile.ZipFile(bdir / "python313.zip") as zf:
        assert "big_blob.pyc" in zf.namelist()
