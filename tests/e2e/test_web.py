"""The browser example in real headless Chromium (Debian's package), driven by Playwright:
the basic REPL (3.13.5 and 3.14.7), CPython's own REPL in a terminal over JSPI (3.14.7),
served by wasmbuild's server with no network but loopback."""
import json
import re
import shutil
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from e2e_util import ARTIFACTS, PROJECT, record

sys.path.insert(0, str(PROJECT / "bench"))
from webtiming import CHROMIUM_ARGS, load_once  # noqa: E402


# 3.13.5 (trixie: a second link as an ES module) and 3.14.7 (forky: its own python.mjs)
@pytest.fixture(scope="module", params=["emscripten", "emscripten_314"])
def web_dir(request):
    b = request.getfixturevalue(request.param)
    out = b.doit(f"web:{b.target}")
    record(f"web-{request.param}", {"wall": f"{out.seconds:.0f}s"})
    return b.build_dir / "web"


@pytest.fixture(scope="module")
def web_dir_314(emscripten_314):
    emscripten_314.doit(f"web:{emscripten_314.target}")
    return emscripten_314.build_dir / "web"


def _serve(folder, isolation, page="python.html?repl=basic"):
    from wasmbuild.web.serve import make_server
    server = make_server(folder, port=0, isolation=isolation)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/{page}"


def _offline_page(browser, url, refused):
    """A fresh context whose requests to anything but the server are refused (and noted)."""
    context = browser.new_context()
    origin = urlsplit(url).netloc

    def only_loopback(route):
        if urlsplit(route.request.url).netloc == origin or route.request.url.startswith("data:"):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    context.route("**/*", only_loopback)
    return context, context.new_page()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    # the host distribution's chromium, installed as bubblewrap is (root on Debian), so
    # that the README's test command needs nothing installed by hand; never a browser
    # build that Playwright would download
    from wasmbuild.provision import ensure_host_packages
    ensure_host_packages({"chromium": "chromium"}, tmp_path_factory.mktemp("apt") / "apt.log",
                         "chromium", needed_by="the browser tests")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
        yield b
        b.close()


def test_page_runs_python(web_dir, browser):
    """The basic REPL (a text field, the interpreter in a worker): on 3.13.5 the only one,
    on 3.14.7 the one ?repl=basic asks for; the page says which one runs and why."""
    server, url = _serve(web_dir, isolation=True)
    refused = []
    context, page = _offline_page(browser, url, refused)
    try:
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url)
        page.wait_for_function("document.getElementById('output').textContent.includes('>>> ')",
                               timeout=120_000)
        mode = page.inner_text("#mode")
        assert "basic REPL" in mode
        assert ("asked for with ?repl=basic" if (web_dir / "python.terminal.mjs").exists()
                else "needs CPython 3.14") in mode, mode
        for line, shown in [("import sys; print(sys.platform, sum(range(10)))", "emscripten 45"),
                            ("import ctypes, decimal, sqlite3; print('modules', ctypes.sizeof(ctypes.c_int), "
                             "decimal.Decimal(1) / 4, sqlite3.connect(':memory:').execute('select 7').fetchone())",
                             "modules 4 0.25 (7,)"),
                            ("1/0", "ZeroDivisionError"),
                            # the page is a link of its own, without CPython's test modules,
                            # and with the CJK codecs, unicodedata, _sqlite3 and _decimal as
                            # side modules fetched when imported (decimal would fall back
                            # to _pydecimal without its side module: its file is asked)
                            ("import importlib.util as u; print('test modules', u.find_spec('_testcapi'), "
                             "u.find_spec('_testinternalcapi'))", "test modules None None"),
                            ("import sys, _codecs_jp; print('cjk', len('テスト'.encode('shift_jis')), "
                             "'_codecs_jp' in sys.builtin_module_names, _codecs_jp.__file__.split('/')[-2])",
                             "cjk 6 False lib-dynload"),
                            # unicodedata too, also behind the compiler's \N{...} escapes
                            ("import unicodedata; print('ucd', unicodedata.name('\\u00e9'), '\\N{BULLET}' == '\\u2022', "
                             "unicodedata.__file__.split('/')[-2])",
                             "ucd LATIN SMALL LETTER E WITH ACUTE True lib-dynload"),
                            ("import _sqlite3, _decimal; print('side', _sqlite3.__file__.split('/')[-2], "
                             "_decimal.__file__.split('/')[-2], _sqlite3.sqlite_version.count('.'))",
                             "side lib-dynload lib-dynload 2")]:
            page.fill("#input", line)
            page.press("#input", "Enter")
            page.wait_for_function(f"document.getElementById('output').textContent.includes({shown!r})",
                                   timeout=60_000)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        version = page.inner_text("#output").split("Python ", 1)[-1][:4].strip()
        page.screenshot(path=str(ARTIFACTS / f"web-emscripten-{version}.png"), full_page=True)
        assert "Traceback (most recent call last)" in page.inner_text("#output")
        assert errors == [] and refused == []
    finally:
        context.close()
        server.shutdown()
        server.server_close()


def test_without_isolation_headers_the_page_explains(web_dir, browser):
    server, url = _serve(web_dir, isolation=False)
    try:
        page = browser.new_page()
        page.goto(url)
        page.wait_for_selector("#isolation", state="visible", timeout=30_000)
        text = page.inner_text("#isolation")
        assert "not cross-origin isolated" in text and "Cross-Origin-Embedder-Policy" in text
        page.screenshot(path=str(ARTIFACTS / "web-emscripten-no-isolation.png"), full_page=True)
        page.close()
    finally:
        server.shutdown()
        server.server_close()


def test_compressed_streamed_and_only_what_the_page_needs(web_dir, browser):
    """A cold load of each REPL through the bench's own measuring helper: python.wasm comes
    as zstd (Chromium accepts zstd and br on loopback; serve: prefers zstd, which decodes
    faster), is compiled while it streams (the page's
    mark, set only when compileStreaming succeeded), and nothing but the REPL's own files
    is fetched before the prompt (the basic REPL: the few stdlib modules its start reads,
    not the zip); no request leaves the machine."""
    server, url = _serve(web_dir, isolation=True, page="python.html")
    try:
        load = load_once(browser, url)
    finally:
        server.shutdown()
        server.server_close()
    terminal = (web_dir / "python.terminal.mjs").exists()
    assert load["mode"] == ("terminal" if terminal else "basic")
    assert load["refused"] == [] and load["errors"] == []
    wire = load["wire"]
    wasm = wire["python.wasm"]
    assert (wasm["status"], wasm["encoding"]) == (200, "zstd"), wire
    assert wasm["bytes"] == (web_dir / "python.wasm.zst").stat().st_size
    # issue 26: the page transfers python.wasm in <= 2.5 MB
    assert wasm["bytes"] <= 2_500_000, wasm["bytes"]
    # the start's phases, in order, on the page's timeline (the worker's own marks come
    # over postMessage): compiled while it streamed, instantiated, main(), the prompt
    marks = load["marks"]
    phases = ["python:wasm-compiled", "python:instantiated", "python:main", "python:prompt"]
    assert set(phases) <= set(marks), marks
    assert [marks[p] for p in phases] == sorted(marks[p] for p in phases), marks
    common = {"python.html", "python.mjs", "python.wasm"}
    if terminal:
        # pyrepl's imports come from the stdlib zip, fetched whole beside python.wasm,
        # with the side modules it imports as it starts (the terminal's
        # TERMINAL_SIDE_MODULES, vars.terminal_side_modules), and no other
        listed = re.search(r"TERMINAL_SIDE_MODULES = \[(.*?)\]\s*\.map\(\(name\) => name \+ (\"[^\"]*\")",
                           (web_dir / "python.terminal.mjs").read_text())
        suffix = json.loads(listed[2])
        side = {n + suffix for n in json.loads(f"[{listed[1].rstrip(', ')}]")}
        assert side, "the terminal asks for no side module: pyrepl imports unicodedata"
        own = {"python.terminal.mjs", "xterm.js", "xterm-pty.mjs", "xterm.css",
               next(n for n in wire if n.endswith(".zip"))} | side
        optional = set()
    else:
        # the basic REPL: nothing of the stdlib over the wire before the prompt. The worker's
        # script holds the listing and the modules the start reads (web: stdlib_preload), so
        # a module fetched now is one the start reads besides them (the YAML's list is out
        # of date). (The page asks for the site-packages listing (wasmbuild/extensions'
        # web_site:; none here: a 404), whose answer may reach Playwright's events after
        # the prompt.)
        worker = (web_dir / "python.worker.mjs").read_text()
        preload = json.loads((web_dir / "stdlib.json").read_text())["preload"]
        assert "encodings/__init__.pyc" in preload, preload
        for name in preload:
            assert json.dumps(name) in worker, f"{name} is not in the worker's script"
        modules = {n for n in wire if n.startswith("stdlib/")}
        assert not modules, f"the start fetched {sorted(modules)}; web.stdlib_preload names {preload}"
        own = {"python.worker.mjs"}
        optional = {"site-packages.json"}
        assert not any(n.endswith(".zip") for n in wire), sorted(wire)
    assert common | own <= set(wire) <= common | own | optional, sorted(wire)
    record(f"web-load-{'314' if terminal else '313'}",
           {"seconds": round(load["seconds"], 3), "marks": load["marks"],
            "wire": {n: w["bytes"] for n, w in wire.items()}})


TYPED_DEF = 'def f():\nprint("hello", "emscripten repl!")\n\n'
SCREEN = """() => {
  if (!globalThis.pythonTerminal) return "";          // the terminal's module not loaded yet
  const b = globalThis.pythonTerminal.buffer.active, lines = [];
  for (let i = 0; i < b.length; i++) lines.push(b.getLine(i).translateToString(true));
  return lines.join("\\n");
}"""


def test_terminal_runs_pyrepl(web_dir_314, browser):
    """3.14.7's page in Chromium (JSPI): CPython's own REPL in xterm.js, as upstream's
    browser test types it (pyrepl indents the body itself), then the up arrow recalls
    the last input, which runs again. Served with no network but loopback."""
    server, url = _serve(web_dir_314, isolation=True, page="python.html")
    refused = []
    context, page = _offline_page(browser, url, refused)
    try:
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url)
        assert page.evaluate("document.documentElement.dataset.repl") == "terminal"
        assert "CPython's own REPL (pyrepl) in a terminal" in page.inner_text("#mode")
        page.wait_for_function(f"({SCREEN})().includes('>>>')", timeout=120_000)
        screen = page.evaluate(SCREEN)
        assert "Python 3.14.7" in screen and "on emscripten" in screen
        assert 'Type "help", "copyright", "credits" or "license" for more information.' in screen
        assert "can't use pyrepl" not in screen, screen
        textbox = page.locator(".xterm-helper-textarea")
        # side modules fetched when imported, here from the page's own thread
        textbox.press_sequentially(
            "import sqlite3, _decimal; print('side', sqlite3.connect(':memory:').execute('select 7')"
            ".fetchone(), _decimal.__file__.split('/')[-2], len('テスト'.encode('euc_jp')))\n")
        page.wait_for_function(f"({SCREEN})().includes('side (7,) lib-dynload 6')", timeout=30_000)
        textbox.press_sequentially(TYPED_DEF)
        textbox.press_sequentially("f()\n")
        page.wait_for_function(f"({SCREEN})().includes('hello emscripten repl!')", timeout=30_000)
        screen = page.evaluate(SCREEN)
        assert "... " in screen and "    print(" in screen, screen     # pyrepl's own indent
        page.keyboard.press("ArrowUp")
        page.wait_for_function(f"({SCREEN})().trimEnd().endsWith('>>> f()')", timeout=10_000)
        page.keyboard.press("Enter")
        page.wait_for_function(f"({SCREEN})().split('hello emscripten repl!').length === 3",
                               timeout=30_000)
        for _ in range(3):                            # f(), f(), then the block before them
            page.keyboard.press("ArrowUp")
        page.wait_for_function(f"({SCREEN})().trimEnd().endsWith("
                               f"'>>> def f():\\n...     print(\"hello\", \"emscripten repl!\")')",
                               timeout=10_000)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "web-terminal-3.14.png"), full_page=True)
        assert errors == [] and refused == []
    finally:
        context.close()
        server.shutdown()
        server.server_close()
