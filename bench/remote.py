"""The remote cache, whole: two "machines" build CPython for emscripten through one Redis.

- A: a cold build (a fresh user cache: no ccache, no config.cache; its checkout at X),
  with the remote cache on and the server empty.
- B: a fresh user cache too, its checkout at Y (a path of another length), the same server.
  Then B's interpreter runs the target's quick test set.

Both share only the provisioned toolchain root (WASMBUILD_TOOLCHAINS), as machines made
from one image do, and the server. The server is a redis-server from Debian, started here
on 127.0.0.1 at a free port and stopped at the end. Writes bench/REMOTE.md.

    python3 bench/remote.py [--cpython PATH] [--target emscripten]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import PROJECT, base_source, copy_source

sys.path.insert(0, str(PROJECT / "tests"))
from redis_server import start, stop  # noqa: E402

from wasmbuild import paths  # noqa: E402


def doit(*args, env: dict, log: Path) -> tuple[float, str]:
    started = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "doit", "-f", str(PROJECT / "dodo.py"),
                          "-d", str(PROJECT), *args], capture_output=True, text=True,
                         env={**__import__("os").environ, **env})
    seconds = time.monotonic() - started
    log.write_text(out.stdout + "\n--- stderr ---\n" + out.stderr)
    if out.returncode != 0:
        raise SystemExit(f"doit {' '.join(args)} failed; see {log}")
    return seconds, out.stdout


def report_rows(stdout: str) -> list[str]:
    """The build report's task lines."""
    lines = stdout.splitlines()
    start_at = next((i for i, l in enumerate(lines) if l.startswith("build report")), len(lines))
    return [l.strip() for l in lines[start_at + 1:] if l.startswith("  ok") or l.startswith("  FAILED")]


def ccache_totals(rows: list[str]) -> dict[str, int]:
    total = {"local": 0, "remote": 0, "misses": 0}
    for row in rows:
        if m := re.search(r"ccache: (\d+) local hits, (\d+) remote hits, (\d+) misses", row):
            for k, v in zip(total, m.groups()):
                total[k] += int(v)
    return total


def machine(work: Path, name: str, base: Path, target: str, remote: str) -> dict:
    cache = work / name / "cache"
    shutil.copytree(paths.downloads_dir(), cache / "downloads")   # the same tarballs, no network
    checkout = copy_source(base, work / name / "cpython")
    env = {"WASMBUILD_CACHE": str(cache), "WASMBUILD_TOOLCHAINS": str(paths.roots_dir())}
    seconds, stdout = doit(f"host:{target}", f"cpython={checkout}", f"remote_cache={remote}",
                           env=env, log=work / f"{name}.log")
    rows = report_rows(stdout)
    return {"name": name, "checkout": str(checkout), "seconds": round(seconds, 1), "rows": rows,
            "ccache": ccache_totals(rows), "env": env}


def package(work: Path, m: dict, target: str) -> tuple[str, str]:
    """`doit package:<target>` in machine m's checkout: (tarball, sha256)."""
    doit(f"package:{target}", f"cpython={m['checkout']}", env=m["env"], log=work / f"{m['name']}-package.log")
    tarball = next((Path(m["checkout"]) / "cross-build" / "packages").glob("*.tar.gz"))
    return str(tarball), hashlib.sha256(tarball.read_bytes()).hexdigest()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cpython")
    ap.add_argument("--target", default="emscripten")
    ap.add_argument("--keep", action="store_true", help="keep the work dir")
    args = ap.parse_args()
    base = base_source(args.cpython)
    work = Path(tempfile.mkdtemp(prefix="wasmbuild-remote-"))
    (work / "redis").mkdir()
    server = start(work / "redis", unix=False)
    try:
        a = machine(work, "a", base, args.target, server.url)
        keys = server.direct.dbsize()
        memory = server.direct.info("memory")["used_memory"]
        b = machine(work, "machine-b-at-another-path", base, args.target, server.url)
        quick_seconds, quick = doit(f"test:{args.target}", f"cpython={b['checkout']}", "modules=quick",
                                    env=b["env"], log=work / "b-quick.log")
        quick_line = next((l for l in quick.splitlines() if "modules" in l and "passed" in l), "?")
        packages = {m["name"]: package(work, m, args.target) for m in (a, b)}
        third = work / "a third place"
        third.mkdir()
        subprocess.run(["tar", "xzf", packages[b["name"]][0]], cwd=third, check=True)
        ran = subprocess.run([str(next(third.glob("python-*")) / "python"), "-c",
                              "import sys; print(sys.version)"], capture_output=True, text=True)
    finally:
        stop(server)
    ratio = b["seconds"] / a["seconds"]
    b_cc = b["ccache"]
    cacheable = b_cc["local"] + b_cc["remote"] + b_cc["misses"]
    out = [
        "# The remote cache: a second machine's build (bench/remote.py)",
        "",
        f"{time.strftime('%Y-%m-%d %H:%M')}, target {args.target}, CPython source {base.name}. "
        "Each machine: a fresh user cache (ccache, config.cache, downloads copied) and its "
        "own checkout path; shared: the provisioned toolchain root and one redis-server on "
        "127.0.0.1 started by the bench.",
        "",
        "| machine | checkout | wall | ccache local hits | remote hits | misses |",
        "|---|---|---|---|---|---|",
    ]
    for m in (a, b):
        c = m["ccache"]
        out.append(f"| {m['name']} | `{m['checkout']}` | {m['seconds']:.0f} s | {c['local']} | "
                   f"{c['remote']} | {c['misses']} |")
    out += [
        "",
        f"- **B / A = {ratio:.2f}** (goal ≤ 0.35).",
        f"- B's remote hits: {b_cc['remote']} of {cacheable} cacheable compiles "
        f"({100 * b_cc['remote'] / max(cacheable, 1):.1f}%).",
        f"- The server after A: {keys} keys, {memory / 1e6:.1f} MB.",
        f"- B's quick test set ({quick_seconds:.0f} s): {quick_line.strip()}",
        "",
        "## `package:" + args.target + "` from the two checkouts",
        "",
        *[f"- {name}: `{path}` sha256 `{sha}`" for name, (path, sha) in packages.items()],
        f"- the same bytes: **{len({sha for _, sha in packages.values()}) == 1}**",
        f"- B's package unpacked in `{third}`: `python -c 'import sys; print(sys.version)'` printed "
        f"`{ran.stdout.strip()}` (exit {ran.returncode}{', stderr: ' + ran.stderr.strip() if ran.stderr.strip() else ''})",
        "",
        "## A's build report", "", "```", *a["rows"], "```", "",
        "## B's build report", "", "```", *b["rows"], "```", "",
    ]
    dest = PROJECT / "bench" / "REMOTE.md"
    dest.write_text("\n".join(out))
    (PROJECT / "bench" / "logs").mkdir(exist_ok=True)
    (PROJECT / "bench" / "logs" / "remote.json").write_text(json.dumps(
        {"a": {k: a[k] for k in ("seconds", "ccache", "rows")},
         "b": {k: b[k] for k in ("seconds", "ccache", "rows")}, "ratio": ratio}, indent=1))
    print("\n".join(out[:20]))
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
