"""Time to the first prompt of a web folder's page in Chromium (Debian's), cold loads.

    python3 bench/webtiming.py WEB_DIR[::PAGE] ... [--runs 5] [--out FILE.md]

A function for other benches (bench/artifacts.py):

    from webtiming import time_to_prompt
    times = time_to_prompt(web_dir, "python.html", runs=5)      # seconds, one per load

Each load is cold: a fresh browser context (its own HTTP cache and so no compiled-wasm
cache), the folder served by wasmbuild's own server (web/serve.py: precompressed
siblings, COOP/COEP) on 127.0.0.1, and every request to any other host refused (the
page must need no network). The time is from the navigation's start to the moment the
page first shows a `>>>` prompt (either REPL: the text field's output or the
terminal's rows), noted by a MutationObserver the harness adds before the page's own
scripts run; it is measured the same way for a page without the timing marks the
current pages set (`python:wasm-compiled`, `python:stdlib-fetched`, `python:prompt`),
which `measure_loads` also reports.

The harness does no work of its own while a page loads: the observer's console message
comes to Playwright unasked. Until 2026-12-05 it polled the page at every animation frame
(Playwright's wait_for_function with polling="raf"): Chromium drew a frame and laid out
the page's text 60 times a second, and the poll's injected script (57 ms to parse and run on
the page's main thread, traced) ran while the page compiled python.wasm there and its
worker started Python beside it, on these 2 cores. A user's browser does none of that.
In one run of 16 interleaved cold loads each (3.13.5, bench/WEB.md), polled and
observed: the before state's page 0.866 and 0.783 s, today's 0.552 and 0.539 s (their
ratio 0.64 and 0.69: the poll cost the before page more).
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from wasmbuild.web.serve import make_server  # noqa: E402

from common import rotated  # noqa: E402

# the same as the e2e browser tests (tests/e2e/test_web.py)
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

# A link slower than loopback, for the loads that should see what a page's bytes cost:
# Lighthouse's desktop throttling (40 ms round trip, 10 Mbit/s down), applied by Chromium's
# own network emulation (DevTools' Network.emulateNetworkConditions) to the page's requests.
LINKS = {
    "loopback": None,
    "desktop-10mbit": {"latency": 40, "downloadThroughput": 10 * 1024 * 1024 / 8,
                       "uploadThroughput": 10 * 1024 * 1024 / 8},
}

# Added to each page before its own scripts: at the first change of the document after
# which its text shows a prompt (innerText: the text as shown, not a script's), the time
# (performance.now()) in a console message, which Playwright reports without running
# anything in the page. The observer runs only when the page changes its document.
PROMPT_SEEN = "wasmbuild-prompt-seen-at"
PROMPT_OBSERVER = """
(() => {
  let seen = false;
  const check = () => {
    if (seen || document.readyState === "loading" || !document.body
        || !document.body.innerText.includes(">>>")) return;
    seen = true;
    observer.disconnect();
    console.debug("%s " + performance.now());
  };
  const observer = new MutationObserver(check);
  observer.observe(document, { subtree: true, childList: true, characterData: true });
  document.addEventListener("DOMContentLoaded", check);
})();
""" % PROMPT_SEEN
HAS_MARKS = "performance.getEntriesByType('mark').some((m) => m.name.startsWith('python:'))"
PROMPT_MARKED = "performance.getEntriesByName('python:prompt').length > 0"


def chromium():
    """(playwright, browser): Debian's chromium, never a browser Playwright downloads."""
    from playwright.sync_api import sync_playwright
    p = sync_playwright().start()
    exe = shutil.which("chromium") or "/usr/bin/chromium"
    return p, p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)


def serve(web_dir: Path, isolation: bool = True, server_factory=make_server):
    """The folder on 127.0.0.1 at a free port, every file read once first: the server's
    ETags and the OS's page cache are warm, so that a load times the browser, not the disk."""
    server = server_factory(web_dir, port=0, isolation=isolation)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    import urllib.request
    for f in sorted(Path(web_dir).iterdir()):
        if f.is_file():
            with urllib.request.urlopen(f"http://127.0.0.1:{server.server_address[1]}/{f.name}") as r:
                r.read()
    return server


def load_once(browser, url: str, timeout_ms: int = 120_000, link: str = "loopback") -> dict:
    """One cold load: seconds to the prompt, the page's own timing marks (seconds), and
    what came over the wire per file (bytes of body as sent, and its coding); over
    LINKS[link]."""
    context = browser.new_context()
    origin = urlsplit(url).netloc
    refused, responses = [], []

    def only_loopback(route):
        if urlsplit(route.request.url).netloc == origin or route.request.url.startswith("data:"):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    context.route("**/*", only_loopback)
    context.on("response", lambda r: responses.append(r))
    errors = []
    try:
        page = context.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        if LINKS[link]:
            cdp = context.new_cdp_session(page)
            cdp.send("Network.enable")
            cdp.send("Network.emulateNetworkConditions", {"offline": False, **LINKS[link]})
        page.add_init_script(PROMPT_OBSERVER)
        with page.expect_console_message(lambda m: m.text.startswith(PROMPT_SEEN + " "),
                                         timeout=timeout_ms) as seen:
            page.goto(url)
        at = float(seen.value.text.split()[1])
        # a page with marks sets its prompt mark on the worker's next message, a task after
        # the one that showed ">>>" (which the observer above sees at once): wait for it
        # before reading the marks (the before state's page sets none)
        if page.evaluate(HAS_MARKS):
            page.wait_for_function(PROMPT_MARKED, timeout=10_000)
        marks = page.evaluate("performance.getEntriesByType('mark').map(m => [m.name, m.startTime])")
        wire = {}
        for r in responses:
            name = urlsplit(r.url).path.lstrip("/")     # the path in the folder: stdlib/json/...
            # the body's length as sent (the server always says it); not request.sizes(),
            # which waits forever for a response that compileStreaming consumed
            length = r.headers.get("content-length")
            # how it was asked for: "fetch" (fetch(), a preload) or "xhr" (the worker's
            # synchronous request for a file Python reads)
            wire[name] = {"status": r.status, "bytes": int(length) if length else None,
                          "encoding": r.headers.get("content-encoding"),
                          "type": r.request.resource_type}
        return {"seconds": at / 1000, "marks": {n: t / 1000 for n, t in marks},
                "wire": wire, "refused": refused, "errors": errors,
                "mode": page.evaluate("document.documentElement.dataset.repl || null")}
    finally:
        context.close()


def measure_loads(web_dir: Path, page: str = "python.html", runs: int = 5, *, browser=None,
                  isolation: bool = True) -> list[dict]:
    """`runs` cold loads of `page` (may carry a query, e.g. python.html?repl=basic)."""
    return interleaved([(web_dir, page, make_server)], runs, browser=browser,
                       isolation=isolation)[0]


def interleaved(setups, runs: int = 5, *, browser=None, isolation: bool = True,
                link: str = "loopback") -> list[list[dict]]:
    """Cold loads of several pages taken in turn, so that a machine busy with something
    else slows each of them alike: `setups` is a list of (web_dir, page, server_factory);
    one list of loads per setup. The order is rotated each round (A B C, B C A, C A B,
    ...): a load right after a heavy one (the before page's 14 MB) starts while the
    browser still works for that one, and no page should always come after the same one.
    A first load, not counted, takes the browser's own start-up work."""
    servers = [serve(Path(d), isolation, factory) for d, _, factory in setups]
    own = None
    try:
        if browser is None:
            own = chromium()
            browser = own[1]
        urls = [f"http://127.0.0.1:{s.server_address[1]}/{page}"
                for s, (_, page, _) in zip(servers, setups)]
        results = [[] for _ in setups]
        load_once(browser, urls[0], link=link)
        for round_ in range(runs):
            for i in rotated(range(len(urls)), round_):
                results[i].append(load_once(browser, urls[i], link=link))
        return results
    finally:
        if own:
            own[1].close()
            own[0].stop()
        for s in servers:
            s.shutdown()
            s.server_close()


def time_to_prompt(web_dir: Path, page: str = "python.html", runs: int = 5, *,
                   browser=None) -> list[float]:
    """Seconds from navigation start to the first prompt, one per cold load."""
    return [r["seconds"] for r in measure_loads(web_dir, page, runs, browser=browser)]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folders", nargs="+", metavar="WEB_DIR[::PAGE]",
                    help="web folders (and pages, default python.html), loaded in turn")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--out", type=Path, help="also write the table as markdown here")
    args = ap.parse_args(argv)
    setups = []
    for f in args.folders:
        folder, _, page = f.partition("::")
        setups.append((Path(folder), page or "python.html", make_server))
    import os
    load = os.getloadavg()
    results = interleaved(setups, args.runs)
    rows = ["| folder | page | REPL | median (s) | loads (s) | marks, medians (s) | python.wasm on the wire |",
            "|---|---|---|---|---|---|---|"]
    for (folder, page, _), loads in zip(setups, results):
        times = [r["seconds"] for r in loads]
        names = sorted({n for r in loads for n in r["marks"]}, key=lambda n: statistics.median(
            r["marks"][n] for r in loads if n in r["marks"]))
        marks = ", ".join(f"{n.split(':')[-1]} {statistics.median(r['marks'][n] for r in loads if n in r['marks']):.2f}"
                          for n in names)
        wasm = loads[-1]["wire"].get("python.wasm", {})
        problems = sorted({u for r in loads for u in r["refused"]} | {e for r in loads for e in r["errors"]})
        print(f"{folder} {page}: median {statistics.median(times):.3f} s over {len(loads)} cold loads "
              f"({loads[0]['mode']}); {marks}; {problems or ''}")
        rows.append(f"| {folder} | {page} | {loads[0]['mode'] or '-'} | {statistics.median(times):.3f} | "
                    f"{' '.join(f'{t:.2f}' for t in times)} | {marks or '-'} | "
                    f"{wasm.get('bytes')} B {wasm.get('encoding') or 'identity'} |")
    if args.out:
        args.out.write_text(f"Cold loads in Chromium, interleaved, load average before: "
                            f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}\n\n" + "\n".join(rows) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
