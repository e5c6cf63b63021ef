"""A small static web server for the CPython-in-the-browser example folder.

    python -m wasmbuild.web.serve FOLDER [--bind 127.0.0.1] [--port 8000] [--no-isolation]

The example's worker reads stdin through a SharedArrayBuffer, which a browser
only allows on a "cross-origin isolated" page, i.e. one served with COOP/COEP
headers; `python -m http.server` does not send them, hence this.

It is a development server: standard library only, GET/HEAD only, and it
serves nothing but the regular files inside FOLDER.

What makes the page load fast is done here as a production server would:
- a file with a precompressed sibling made at `web:` time (`X.zst`, `X.br`, `X.gz`;
  see compress.py) is sent as that sibling with `Content-Encoding` when the request's
  `Accept-Encoding` allows it (zstd first, then brotli), `Vary: Accept-Encoding` always;
  a sibling older than its file is stale and never sent;
- every file carries a strong `ETag` (a digest of the bytes sent), and a request
  whose `If-None-Match` names it gets `304 Not Modified`: with `no-cache`, a
  reload revalidates each file and downloads only what changed.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import stat
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, unquote

from .compress import SIBLINGS

# Explicit types rather than the `mimetypes` module: that one reads the host's
# /etc/mime.types, and browsers refuse to compile .wasm streamed with anything
# but application/wasm, or to load an ES module that is not JavaScript.
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".wasm": "application/wasm",
    ".zip": "application/zip",
    ".json": "application/json",
    ".css": "text/css",
    ".txt": "text/plain; charset=utf-8",
    ".data": "application/octet-stream",
}
DEFAULT_CONTENT_TYPE = "application/octet-stream"

# The headers that make the page cross-origin isolated (SharedArrayBuffer).
ISOLATION_HEADERS = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "same-origin",
}


# The codings a sibling may carry, in the server's order of preference (compress.py says
# why zstd comes first), which breaks a tie of the client's q-values.
PREFERENCE = tuple(SIBLINGS)


def accepted_codings(header: str | None) -> list[str]:
    """The content codings of PREFERENCE that an Accept-Encoding header allows, best
    first (by the client's q-value, then the server's preference). No header: none
    (identity), as browsers always send one and other clients may not decode."""
    if not header:
        return []
    q = {}
    for item in header.split(","):
        name, _, params = item.strip().partition(";")
        name = name.strip().lower()
        if not name:
            continue
        weight = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0          # unreadable: do not guess that it is allowed
        q[name] = weight
    wildcard = q.get("*", 0.0)
    allowed = [(q.get(c, wildcard), -i, c) for i, c in enumerate(PREFERENCE)]
    return [c for weight, _, c in sorted(allowed, reverse=True) if weight > 0]


def _etag_matches(header: str, etag: str) -> bool:
    """If-None-Match uses the weak comparison (RFC 9110 13.1.2): W/ is ignored."""
    if header.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in header.split(","))


class _Refused(Exception):
    """The request path does not name a file we serve; carries the status."""

    def __init__(self, status: HTTPStatus):
        super().__init__(status)
        self.status = status


class _Redirect:
    """A directory asked for without its trailing slash."""

    def __init__(self, location: str):
        self.location = location


class StaticHandler(BaseHTTPRequestHandler):
    def version_string(self) -> str:
        # Do not advertise the Python version in the Server header.
        return "wasmbuild-serve"

    # --- headers sent on every response, errors included -------------------

    def end_headers(self) -> None:
        # send_error() also goes through here, so a 404 is isolated too (a
        # page whose error responses lack COEP is not isolated either).
        if self.server.isolation:
            for name, value in ISOLATION_HEADERS.items():
                self.send_header(name, value)
        # The folder is rebuilt often; never let the browser use a stale copy
        # of python.wasm next to a fresh python.mjs.
        self.send_header("Cache-Control", "no-cache")
        self.send_header("X-Content-Type-Options", "nosniff")
        if self.command and self.command not in ("GET", "HEAD"):
            self.send_header("Allow", "GET, HEAD")
        super().end_headers()

    # --- methods ------------------------------------------------------------

    def do_GET(self) -> None:
        self._serve(send_body=True)

    def do_HEAD(self) -> None:
        self._serve(send_body=False)

    def _method_not_allowed(self) -> None:
        self.send_error(HTTPStatus.METHOD_NOT_ALLOWED)

    # Common methods get 405 (+ Allow); unknown ones get the base class's 501.
    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _method_not_allowed

    # --- the file itself ----------------------------------------------------

    def _serve(self, send_body: bool) -> None:
        try:
            path = self._resolve(self.path)
        except _Refused as refused:
            self.send_error(refused.status)
            return
        if isinstance(path, _Redirect):
            self.send_response(HTTPStatus.MOVED_PERMANENTLY)
            self.send_header("Location", path.location)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        try:
            f = open(path, "rb")
        except OSError:  # unreadable, or vanished since _resolve()
            self.send_error(HTTPStatus.NOT_FOUND)
            return
        suffix = os.path.splitext(path)[1].lower()
        content_type = CONTENT_TYPES.get(suffix, DEFAULT_CONTENT_TYPE)
        with f:
            coding, sibling = self._sibling(path, os.fstat(f.fileno()))
            body = sibling or f           # what is sent; closing f twice is harmless
            with body:
                self._send_file(body, content_type, coding, send_body)

    def _send_file(self, f, content_type: str, coding: str | None, send_body: bool) -> None:
        st = os.fstat(f.fileno())
        etag = self.server.etag(f, st)
        inm = self.headers.get("If-None-Match")
        if inm is not None and _etag_matches(inm, etag):
            self.send_response(HTTPStatus.NOT_MODIFIED)
            self.send_header("ETag", etag)
            self.send_header("Vary", "Accept-Encoding")
            self.end_headers()
            return
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", content_type)
        if coding:
            self.send_header("Content-Encoding", coding)
        self.send_header("Content-Length", str(st.st_size))
        self.send_header("ETag", etag)
        # the same URL has other bytes for another Accept-Encoding: caches must know
        self.send_header("Vary", "Accept-Encoding")
        self.end_headers()
        if send_body:
            try:
                shutil.copyfileobj(f, self.wfile)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the browser went away (e.g. reload); not our error

    def _sibling(self, path: str, st: os.stat_result):
        """(coding, open file) of the precompressed sibling to send, or (None, None).

        A sibling is used only when it is a regular file inside the root and not
        older than the file itself: an edited file must never be answered with the
        compressed bytes of its previous content."""
        for coding in accepted_codings(self.headers.get("Accept-Encoding")):
            candidate = path + SIBLINGS[coding]
            try:
                real = self._inside_root(candidate)
            except _Refused:
                continue
            try:
                g = open(real, "rb")
            except OSError:
                continue
            gst = os.fstat(g.fileno())
            if stat.S_ISREG(gst.st_mode) and gst.st_mtime_ns >= st.st_mtime_ns:
                return coding, g
            g.close()
        return None, None

    def _resolve(self, raw: str) -> str | _Redirect:
        """Map the raw request target to a regular file inside the root.

        Works on the raw target (not a normalised one), and refuses rather
        than repairs anything odd: a browser never sends these for a page
        that only loads files from its own folder.
        """
        raw = raw.split("?", 1)[0].split("#", 1)[0]
        if not raw.startswith("/"):
            # "*", absolute-form "http://host/...", or "" -- not a file path.
            raise _Refused(HTTPStatus.BAD_REQUEST)
        # An encoded separator would be a slash after decoding that the
        # segment split below never saw; no file name here contains one.
        if "%2f" in raw.lower() or "%5c" in raw.lower():
            raise _Refused(HTTPStatus.FORBIDDEN)
        try:
            decoded = unquote(raw, errors="strict")
        except UnicodeDecodeError:  # not UTF-8, so not one of our file names
            raise _Refused(HTTPStatus.NOT_FOUND) from None
        if "\\" in decoded or "\x00" in decoded:
            raise _Refused(HTTPStatus.FORBIDDEN)
        # Empty segments ("//etc") are dropped so an absolute-looking path
        # still lands under the root; "." and ".." are refused outright.
        segments = [s for s in decoded.split("/") if s]
        if any(s in (".", "..") for s in segments):
            raise _Refused(HTTPStatus.FORBIDDEN)

        root = self.server.real_root
        real = self._inside_root(os.path.join(root, *segments))
        if os.path.isdir(real):
            index = self._inside_root(os.path.join(real, "index.html"))
            if not os.path.isfile(index):
                raise _Refused(HTTPStatus.NOT_FOUND)  # and never a listing
            if not decoded.endswith("/"):
                # Relative URLs in the index resolve against the directory
                # only with the slash. Location is rebuilt from the checked
                # segments, never echoed from the request.
                return _Redirect("/" + "/".join(quote(s) for s in segments) + "/")
            return index
        if not os.path.isfile(real):
            raise _Refused(HTTPStatus.NOT_FOUND)
        return real

    def _inside_root(self, path: str) -> str:
        # realpath follows every symlink, so a link pointing out of the
        # folder (or into /proc, ...) resolves outside and is refused.
        real = os.path.realpath(path)
        root = self.server.real_root
        if os.path.commonpath([root, real]) != root:
            raise _Refused(HTTPStatus.FORBIDDEN)
        return real


class StaticServer(ThreadingHTTPServer):
    """The handler reads its settings from the server it belongs to."""

    def __init__(self, address, real_root: str, isolation: bool):
        super().__init__(address, StaticHandler)
        self.real_root = real_root
        self.isolation = isolation
        self._etags: dict[tuple, str] = {}
        self._etags_lock = threading.Lock()

    def etag(self, f, st: os.stat_result) -> str:
        """A strong validator of an open file's bytes, computed once per version of the
        file (device, inode, size, mtime): a folder assembled again with the same bytes
        keeps its ETags, so the browser's copy is still good (304)."""
        key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        with self._etags_lock:
            known = self._etags.get(key)
        if known is None:
            digest = hashlib.file_digest(f, "sha256").hexdigest()[:32]
            f.seek(0)
            known = f'"{digest}"'
            with self._etags_lock:
                self._etags[key] = known
        return known


def make_server(root: Path, host: str = "127.0.0.1", port: int = 0,
                isolation: bool = True) -> StaticServer:
    """Bind (but do not start) a server for `root`; port 0 picks a free port."""
    real_root = os.path.realpath(root)
    if not os.path.isdir(real_root):
        raise NotADirectoryError(f"not a directory: {root}")
    return StaticServer((host, port), real_root, isolation)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m wasmbuild.web.serve",
        description="Serve the CPython-in-the-browser folder with cross-origin isolation headers.")
    parser.add_argument("folder", type=Path, help="the folder holding python.html etc.")
    parser.add_argument("--bind", default="127.0.0.1",
                        help="address to listen on (default: 127.0.0.1, this machine only)")
    parser.add_argument("--port", type=int, default=8000, help="port (default: 8000; 0 = any free)")
    parser.add_argument("--no-isolation", dest="isolation", action="store_false",
                        help="omit the COOP/COEP/CORP headers (to test the page's fallback message)")
    args = parser.parse_args(argv)
    if not args.folder.is_dir():
        parser.error(f"not a directory: {args.folder}")

    try:
        server = make_server(args.folder, args.bind, args.port, args.isolation)
    except OSError as e:  # port in use, bad address
        parser.exit(1, f"cannot listen on {args.bind}:{args.port}: {e}\n")
    try:
        host, port = server.server_address[:2]
        page = "python.html" if (args.folder / "python.html").is_file() else ""
        isolated = "" if args.isolation else " (without cross-origin isolation)"
        # flush: whoever started us (a test, a script) waits for this line.
        print(f"Serving {args.folder} at http://{host}:{port}/{page}{isolated}"
              " -- press Ctrl-C to stop", flush=True)
        server.serve_forever()
    except KeyboardInterrupt:
        # Ctrl-C is the normal way to stop: no traceback, exit status 0.
        # The exception already unwound serve_forever(), so shutdown()
        # returns at once; it is called so the server is in a clean state.
        server.shutdown()
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
