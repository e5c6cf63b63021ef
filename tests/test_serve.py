"""wasmbuild.web.serve: MIME types, isolation headers, nothing served outside the root,
precompressed siblings by Accept-Encoding, and ETag validators (304).

Requests go over a raw socket so that "..", "%2e%2e" and "%2F" reach the
server exactly as written (an HTTP client library might normalise them).
"""
import os
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from wasmbuild.web.serve import make_server

PROJECT = Path(__file__).resolve().parent.parent
SECRET = b"outside-the-root secret"
ISOLATION = {
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-embedder-policy": "require-corp",
    "cross-origin-resource-policy": "same-origin",
}

# name -> (content, exact Content-Type)
FILES = {
    "python.html": (b"<!doctype html><title>py</title>", "text/html; charset=utf-8"),
    "python.mjs": (b"export default 1;\n", "text/javascript"),
    "python.worker.mjs": (b"self.onmessage = () => {};\n", "text/javascript"),
    "python.wasm": (b"\x00asm\x01\x00\x00\x00", "application/wasm"),
    "python313.zip": (b"PK\x05\x06" + b"\x00" * 18, "application/zip"),
    "app.js": (b"console.log(1);\n", "text/javascript"),
    "data.json": (b'{"a": 1}', "application/json"),
    "style.css": (b"body{}", "text/css"),
}


@pytest.fixture
def site(tmp_path):
    root = tmp_path / "site"
    root.mkdir()
    for name, (content, _) in FILES.items():
        (root / name).write_bytes(content)
    (root / "sub").mkdir()  # a directory without index.html
    (root / "sub" / "inner.txt").write_bytes(b"inner")
    (root / "docs").mkdir()  # a directory with one
    (root / "docs" / "index.html").write_bytes(b"<p>docs</p>")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(SECRET)
    (outside / "index.html").write_bytes(SECRET)
    (root / "escape.txt").symlink_to(outside / "secret.txt")
    (root / "escape_dir").symlink_to(outside, target_is_directory=True)
    (root / "docs" / "escape.html").symlink_to(outside / "index.html")
    (root / "inner_link.txt").symlink_to(root / "sub" / "inner.txt")  # stays inside: fine
    return root


def start(root, **kw):
    server = make_server(root, port=0, **kw)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    return server, thread


def stop(server, thread):
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)
    assert not thread.is_alive()


@pytest.fixture
def port(site):
    server, thread = start(site)
    yield server.server_address[1]
    stop(server, thread)


@pytest.fixture
def port_no_isolation(site):
    server, thread = start(site, isolation=False)
    yield server.server_address[1]
    stop(server, thread)


def request(port, method, target, body=b"", headers=None):
    """Send one request verbatim; return (status, {lowercased header: value}, body)."""
    head = f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n"
    for name, value in (headers or {}).items():
        head += f"{name}: {value}\r\n"
    if body or method == "POST":
        head += f"Content-Length: {len(body)}\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(head.encode("latin-1") + b"\r\n" + body)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    raw_head, _, payload = b"".join(chunks).partition(b"\r\n\r\n")
    status_line, *header_lines = raw_head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, payload


def assert_isolated(headers):
    for name, value in ISOLATION.items():
        assert headers.get(name) == value, (name, headers)


@pytest.mark.parametrize("name", sorted(FILES))
def test_serves_each_file_type(port, name):
    content, content_type = FILES[name]
    status, headers, body = request(port, "GET", "/" + name)
    assert status == 200
    assert headers["content-type"] == content_type
    assert headers["content-length"] == str(len(content))
    assert headers["cache-control"] == "no-cache"
    assert_isolated(headers)
    assert body == content


def test_head_sends_headers_only(port):
    status, headers, body = request(port, "HEAD", "/python.wasm")
    assert status == 200
    assert headers["content-type"] == "application/wasm"
    assert headers["content-length"] == str(len(FILES["python.wasm"][0]))
    assert_isolated(headers)
    assert body == b""


def test_query_string_is_ignored(port):
    status, headers, body = request(port, "GET", "/python.mjs?v=2")
    assert (status, body) == (200, FILES["python.mjs"][0])


def test_directory_serves_its_index(port):
    status, headers, body = request(port, "GET", "/docs/")
    assert (status, body) == (200, b"<p>docs</p>")
    assert headers["content-type"] == "text/html; charset=utf-8"
    # Without the slash: redirect, so the page's relative URLs work.
    status, headers, _ = request(port, "GET", "/docs")
    assert status == 301 and headers["location"] == "/docs/"


def test_symlink_inside_root_is_served(port):
    assert request(port, "GET", "/inner_link.txt")[::2] == (200, b"inner")


@pytest.mark.parametrize("target", [
    "/../etc/passwd",
    "/%2e%2e/%2e%2e/etc/passwd",
    "/%2E%2E/%2E%2E/etc/passwd",
    "/sub/../../etc/passwd",
    "/sub%2F..%2F..%2Fetc%2Fpasswd",
    "/sub%2f..%2f..%2fetc%2fpasswd",
    "/..%5c..%5cetc%5cpasswd",
    "/..\\..\\etc\\passwd",
    "/python.html%00.txt",
    "//etc/passwd",
    "/etc/passwd",
    "/%ff%fe",
    "http://127.0.0.1/../etc/passwd",
    "/escape.txt",                # symlink to a file outside
    "/escape_dir/secret.txt",     # symlink to a directory outside
    "/escape_dir/",
    "/docs/escape.html",
    "/sub/",                      # no listing
    "/sub",
    "/",                          # no index.html in the root: no listing either
    "/missing.wasm",
])
def test_refused(port, target):
    status, headers, body = request(port, "GET", target)
    assert status in (400, 403, 404), (target, status)
    assert SECRET not in body and b"root:" not in body
    assert b"Traceback" not in body
    assert b"inner.txt" not in body  # no directory listing
    assert_isolated(headers)  # errors are isolated too


def test_outside_symlink_is_forbidden(port):
    assert request(port, "GET", "/escape.txt")[0] == 403


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "OPTIONS"])
def test_only_get_and_head(port, method):
    status, headers, body = request(port, method, "/python.html")
    assert status == 405
    assert headers["allow"] == "GET, HEAD"
    assert_isolated(headers)
    assert b"Traceback" not in body


def test_no_isolation_headers_when_disabled(port_no_isolation):
    for target, expected in (("/python.html", 200), ("/missing", 404)):
        status, headers, _ = request(port_no_isolation, "GET", target)
        assert status == expected
        assert headers["cache-control"] == "no-cache"
        for name in ISOLATION:
            assert name not in headers
    assert request(port_no_isolation, "GET", "/python.wasm")[1]["content-type"] == "application/wasm"


def test_binds_localhost_and_shuts_down_cleanly(site):
    server, thread = start(site)
    host, port = server.server_address[:2]
    assert host == "127.0.0.1"
    assert request(port, "GET", "/python.html")[0] == 200
    stop(server, thread)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child is POSIX-only")
def test_main_exits_cleanly_on_sigint(site):
    env = dict(os.environ, PYTHONPATH=str(PROJECT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen(
        [sys.executable, "-m", "wasmbuild.web.serve", str(site), "--port", "0"],
        cwd=PROJECT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        # A background job of a non-interactive shell inherits SIGINT as
        # ignored; undo that so the test also works when pytest runs with "&".
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        line = _read_line(proc.stdout, timeout=5)
        assert b"http://127.0.0.1:" in line, line
        port = int(line.split(b"http://127.0.0.1:")[1].split(b"/")[0])
        status, headers, _ = request(port, "GET", "/python.html")
        assert status == 200
        assert_isolated(headers)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err.decode(errors="replace")
    assert b"Traceback" not in err


def _read_line(pipe, timeout):
    """The first stdout line, without hanging the test if it never comes."""
    deadline = time.monotonic() + timeout
    data = b""
    with selectors.DefaultSelector() as sel:
        sel.register(pipe, selectors.EVENT_READ)
        while b"\n" not in data:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not sel.select(remaining):
                break
            chunk = os.read(pipe.fileno(), 4096)
            if not chunk:
                break
            data += chunk
    return data


# ---------------------------------------------------------------- compression, validators

WASM = b"\x00asm\x01\x00\x00\x00" + bytes(range(256)) * 64


@pytest.fixture
def packed(tmp_path):
    """A folder as web: leaves it: python.wasm with .zst, .br and .gz siblings (made by the
    real compressors), python.mjs with a .gz only, python.html with none."""
    from wasmbuild.web import compress
    root = tmp_path / "web"
    root.mkdir()
    (root / "python.wasm").write_bytes(WASM)
    (root / "python.mjs").write_bytes(b"export default 1;\n" * 50)
    (root / "python.html").write_bytes(b"<!doctype html>")
    compress.compress_folder(root, ["*.wasm", "*.mjs"], tmp_path / "state.json")
    (root / "python.mjs.br").unlink()
    (root / "python.mjs.zst").unlink()
    server, thread = start(root)
    yield root, server.server_address[1]
    stop(server, thread)


def decoded(headers, body):
    import gzip

    import brotli
    import zstandard
    coding = headers.get("content-encoding")
    return {None: lambda b: b, "gzip": gzip.decompress, "br": brotli.decompress,
            "zstd": zstandard.ZstdDecompressor().decompress}[coding](body)


@pytest.mark.parametrize("accept, coding", [
    ("gzip, deflate, br, zstd", "zstd"),        # what Chromium sends
    ("gzip, deflate, br", "br"),                # what a browser without zstd sends
    ("br", "br"),
    ("zstd", "zstd"),
    ("gzip", "gzip"),
    ("br;q=0.5, gzip", "gzip"),                 # the client's q-values first
    ("br;q=0, gzip;q=0.1", "gzip"),
    ("gzip;q=0, br;q=0", None),
    ("*", "zstd"),
    ("*;q=0, gzip", "gzip"),
    ("zstd;q=0.5, br", "br"),
    ("deflate", None),
    ("identity", None),
    (None, None),                               # no header: identity
    ("GZIP", "gzip"),                           # codings are case-insensitive
    ("br;q=bogus, gzip", "gzip"),
])
def test_accept_encoding_picks_the_sibling(packed, accept, coding):
    root, port = packed
    headers = {"Accept-Encoding": accept} if accept is not None else {}
    status, h, body = request(port, "GET", "/python.wasm", headers=headers)
    assert status == 200
    assert h.get("content-encoding") == coding
    assert h["content-type"] == "application/wasm"       # the file's type, whatever the coding
    assert h["vary"] == "Accept-Encoding"
    assert h["content-length"] == str(len(body))
    assert decoded(h, body) == WASM
    if coding:
        assert len(body) < len(WASM)
    assert_isolated(h)


def test_missing_sibling_falls_back_to_the_next_coding(packed):
    root, port = packed
    status, h, body = request(port, "GET", "/python.mjs", headers={"Accept-Encoding": "zstd, br, gzip"})
    assert (status, h.get("content-encoding")) == (200, "gzip")
    status, h, body = request(port, "GET", "/python.mjs", headers={"Accept-Encoding": "br"})
    assert (status, h.get("content-encoding"), body) == (200, None, b"export default 1;\n" * 50)
    status, h, body = request(port, "GET", "/python.html", headers={"Accept-Encoding": "br, gzip"})
    assert (h.get("content-encoding"), body) == (None, b"<!doctype html>")


def test_a_sibling_older_than_its_file_is_never_sent(packed):
    """A page edited after web: must not be answered with its old content, compressed."""
    root, port = packed
    wasm = root / "python.wasm"
    wasm.write_bytes(WASM + b"edited")
    later = wasm.stat().st_mtime_ns + 5_000_000_000
    os.utime(wasm, ns=(later, later))
    status, h, body = request(port, "GET", "/python.wasm", headers={"Accept-Encoding": "br, gzip"})
    assert (status, h.get("content-encoding"), body) == (200, None, WASM + b"edited")


def test_head_with_a_coding_sends_the_siblings_headers(packed):
    root, port = packed
    status, h, body = request(port, "HEAD", "/python.wasm", headers={"Accept-Encoding": "br"})
    assert (status, body, h["content-encoding"]) == (200, b"", "br")
    assert h["content-length"] == str((root / "python.wasm.br").stat().st_size)


def test_etag_and_not_modified(packed):
    root, port = packed
    _, plain, body = request(port, "GET", "/python.wasm")
    _, br, _ = request(port, "GET", "/python.wasm", headers={"Accept-Encoding": "br"})
    etag = plain["etag"]
    assert etag.startswith('"') and etag.endswith('"') and len(etag) > 10
    assert br["etag"] != etag                      # another representation, another tag
    assert request(port, "GET", "/python.wasm")[1]["etag"] == etag     # stable
    # the browser revalidates its copy (Cache-Control: no-cache): 304, no body
    status, h, body = request(port, "GET", "/python.wasm", headers={"If-None-Match": etag})
    assert (status, body) == (304, b"")
    assert h["etag"] == etag and h["vary"] == "Accept-Encoding"
    assert h["cache-control"] == "no-cache"
    assert_isolated(h)
    for inm in (f'"x", {etag}', f"W/{etag}", "*"):
        assert request(port, "GET", "/python.wasm", headers={"If-None-Match": inm})[0] == 304
    assert request(port, "GET", "/python.wasm",
                   headers={"If-None-Match": br["etag"], "Accept-Encoding": "br"})[0] == 304
    # the identity tag does not validate the brotli bytes, nor a stale tag new bytes
    assert request(port, "GET", "/python.wasm",
                   headers={"If-None-Match": etag, "Accept-Encoding": "br"})[0] == 200
    (root / "python.wasm").write_bytes(WASM + b"new")
    status, h, body = request(port, "GET", "/python.wasm", headers={"If-None-Match": etag})
    assert (status, body) == (200, WASM + b"new") and h["etag"] != etag


def test_same_bytes_rewritten_keep_their_etag(packed):
    """web: copies python.wasm again (a new file, a new mtime): the tag is the bytes'."""
    root, port = packed
    etag = request(port, "GET", "/python.wasm")[1]["etag"]
    (root / "python.wasm").unlink()
    (root / "python.wasm").write_bytes(WASM)
    assert request(port, "GET", "/python.wasm", headers={"If-None-Match": etag})[0] == 304


def test_a_sibling_symlinked_outside_is_not_followed(tmp_path):
    root = tmp_path / "web"
    root.mkdir()
    (root / "a.js").write_bytes(b"console.log(1);\n")
    (tmp_path / "secret.gz").write_bytes(SECRET)
    (root / "a.js.gz").symlink_to(tmp_path / "secret.gz")
    server, thread = start(root)
    try:
        status, h, body = request(server.server_address[1], "GET", "/a.js",
                                  headers={"Accept-Encoding": "gzip"})
        assert (status, h.get("content-encoding"), body) == (200, None, b"console.log(1);\n")
    finally:
        stop(server, thread)


def test_accepted_codings_parser():
    from wasmbuild.web.serve import accepted_codings
    assert accepted_codings("gzip, deflate, br, zstd") == ["zstd", "br", "gzip"]
    assert accepted_codings("gzip, deflate, br") == ["br", "gzip"]
    assert accepted_codings("gzip;q=1.0, br;q=0.9") == ["gzip", "br"]
    assert accepted_codings(" br ; q=0 ,gzip") == ["gzip"]
    assert accepted_codings("") == [] and accepted_codings(None) == []
