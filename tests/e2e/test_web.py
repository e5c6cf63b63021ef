"""The browser example in real headless Chromium (Debian's package), driven by Playwright."""
import shutil
import threading

import pytest

from e2e_util import ARTIFACTS, record

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


# 3.13.5 (trixie: a second link as an ES module) and 3.14.7 (forky: its own python.mjs)
@pytest.fixture(scope="module", params=["emscripten", "emscripten_314"])
def web_dir(request):
    b = request.getfixturevalue(request.param)
    out = b.doit(f"web:{b.target}")
    record(f"web-{request.param}", {"wall": f"{out.seconds:.0f}s"})
    return b.build_dir / "web"


def _serve(folder, isolation):
    from wasmbuild.web.serve import make_server
    server = make_server(folder, port=0, isolation=isolation)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/python.html"


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
    server, url = _serve(web_dir, isolation=True)
    try:
        page = browser.new_page()
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url)
        page.wait_for_function("document.getElementById('output').textContent.includes('>>> ')",
                               timeout=120_000)
        for line, shown in [("import sys; print(sys.platform, sum(range(10)))", "emscripten 45"),
                            ("import ctypes, decimal, sqlite3; print('modules', ctypes.sizeof(ctypes.c_int), "
                             "decimal.Decimal(1) / 4, sqlite3.connect(':memory:').execute('select 7').fetchone())",
                             "modules 4 0.25 (7,)"),
                            ("1/0", "ZeroDivisionError")]:
            page.fill("#input", line)
            page.press("#input", "Enter")
            page.wait_for_function(f"document.getElementById('output').textContent.includes({shown!r})",
                                   timeout=60_000)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        version = page.inner_text("#output").split("Python ", 1)[-1][:4].strip()
        page.screenshot(path=str(ARTIFACTS / f"web-emscripten-{version}.png"), full_page=True)
        assert "Traceback (most recent call last)" in page.inner_text("#output")
        assert errors == []
    finally:
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
    finally:
        server.shutdown()
        server.server_close()
