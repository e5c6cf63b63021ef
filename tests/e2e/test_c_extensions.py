"""Third-party C extensions on the real builds (wasmbuild/extensions): wheels from PyPI
sdists (markupsafe, msgpack, pyyaml with libyaml) built in each target's cross env,
installed into its site-packages, imported compiled (never a pure-Python fallback) and
passing the named subset of their own tests in python.sh, on 3.13.5 (Emscripten 3.1.69)
and 3.14.7 (Emscripten 6.0.5); refused by the other toolchain's interpreter; packaged;
loaded in the browser; a local project rebuilt file by file; WASI refused."""
import json
import random
import re
import shutil
import tarfile
import threading
import time
from pathlib import Path

import pytest

from e2e_util import ARTIFACTS, PROJECT, ran, record, step_times

PACKAGES = ["markupsafe", "msgpack", "pyyaml"]
# the tag each interpreter answers for itself (sysconfig.get_platform(), its Python)
TAGS = {"emscripten": "cp313-cp313-emscripten_3_1_69_wasm32",
        "emscripten_314": "cp314-cp314-emscripten_6_0_5_wasm32"}
IMPORTS = ("import markupsafe, markupsafe._speedups as s, msgpack, msgpack._cmsgpack as c, yaml, yaml._yaml as y; "
           "print(markupsafe._escape_inner is s._escape_inner, msgpack.Packer is c.Packer, "
           "yaml.__with_libyaml__, y.get_version_string(), markupsafe.escape('<&>'), "
           "msgpack.unpackb(msgpack.packb([1, 'x'])), yaml.load('[a, {b: 1}]', Loader=yaml.CLoader), "
           "*(m.__file__.rsplit('/', 1)[-1] for m in (s, c, y)))")


def ext_dir(b) -> Path:
    return b.build_dir.parent / f"{b.build_dir.name}-ext"


@pytest.fixture(scope="module", params=list(TAGS))
def tested(request):
    """`doit wheel_test:<target>`: the cross env, libyaml, three wheels, site-packages, and
    each package's check and tests in python.sh, all from one command."""
    b = request.getfixturevalue(request.param)
    out = b.doit(f"wheel_test:{b.target}")
    record(f"extensions-{request.param}", {"wall": f"{out.seconds:.0f}s", **step_times(out)})
    return request.param, b, out


def test_wheels_run_compiled_and_pass_their_own_tests(tested):
    name, b, out = tested
    for pkg in PACKAGES:
        m = re.search(rf"^   {pkg}: (\d+) passed(.*)$", out.stderr, re.M)
        assert m and int(m.group(1)) > 0 and "failed" not in m.group(2), out.stderr[-3000:]
    facts = json.loads((ext_dir(b) / "env" / "wasmbuild-target.json").read_text())
    assert facts["tags"][0] == TAGS[name]
    wheels = [json.loads((ext_dir(b) / "wheels" / f"{pkg}.json").read_text())["wheel"] for pkg in PACKAGES]
    assert all((ext_dir(b) / "wheels" / w).is_file() and w.endswith(f"-{TAGS[name]}.whl") for w in wheels), wheels
    # python.sh as a user runs it: the compiled modules, from the build dir's site-packages
    got = b.py("-c", IMPORTS, cwd=str(b.source.parent))
    assert got.returncode == 0, got.stderr
    suffix = f".cpython-3{TAGS[name][3:5]}-wasm32-emscripten.so"
    assert got.stdout.split(" ", 4)[:4] == ["True", "True", "True", "0.2.5"], got.stdout
    assert "&lt;&amp;&gt; [1, 'x'] ['a', {'b': 1}]" in got.stdout
    assert got.stdout.split()[-3:] == [f"_speedups{suffix}", f"_cmsgpack{suffix}", f"_yaml{suffix}"]
    if name == "emscripten_314":
        assert any(n.startswith("pyemscripten_2026_0_wasm32 not claimed: Emscripten 6.0.5 (it pins 5.0.3)")
                   for n in facts["notes"]), facts["notes"]
    # the wheels again: nothing runs
    again = b.doit(f"wheel:{b.target}")
    assert ran(again) == [], ran(again)
    record(f"extensions-noop-{name}", f"{again.seconds:.1f}s")


def test_a_wheel_is_refused_by_the_other_toolchains_interpreter(emscripten, emscripten_314):
    """3.13.5's wheel (Emscripten 3.1.69) into 3.14.7's site-packages (Emscripten 6.0.5),
    and the other way round: one line naming both tags, and site-packages as it was."""
    built = {}
    for b in (emscripten, emscripten_314):
        b.doit(f"wheel:{b.target}-markupsafe")
        built[b.target] = next((ext_dir(b) / "wheels").glob("markupsafe-*.whl"))
    for b, other in ((emscripten_314, "emscripten"), (emscripten, "emscripten-forky")):
        site = b.build_dir.with_name(b.build_dir.name + "-site-packages")
        before = sorted(str(p.relative_to(site)) for p in site.rglob("*")) if site.is_dir() else []
        out = b.doit(f"site:{b.target}", f"wheels={built[other]}", check=False)
        assert out.returncode != 0
        line = next(l for l in (out.stdout + out.stderr).splitlines() if "is refused" in l)
        mine, theirs = (TAGS["emscripten_314"], TAGS["emscripten"]) if b is emscripten_314 \
            else (TAGS["emscripten"], TAGS["emscripten_314"])
        assert f"{built[other].name} is refused: its tag is {theirs}" in line, line
        assert f"takes {mine}" in line, line
        after = sorted(str(p.relative_to(site)) for p in site.rglob("*")) if site.is_dir() else []
        assert after == before
        record(f"extensions-refusal-{b.target}", line)


def test_local_project_noop_touch_and_one_file_recompiled(emscripten_314, tmp_path):
    """A project folder given with packages=: built, imported; run again, nothing runs;
    a touch, nothing; an edit of one of its two C files: that file is compiled (a ccache
    miss), the other is not (a hit), and the interpreter returns the new value."""
    b = emscripten_314
    proj = tmp_path / "twofiles"
    shutil.copytree(PROJECT / "tests" / "e2e" / "ext_project", proj)
    value = proj / "src" / "value.c"
    first, second = random.sample(range(1000, 10**6), 2)       # new to ccache on every run
    value.write_text(f"int twofiles_value(void) {{ return {first}; }}\n")
    packages = f"packages=markupsafe,msgpack,pyyaml,{proj}"
    task = f"wheel:{b.target}-twofiles"
    built = b.doit(f"site:{b.target}", packages)
    assert task in ran(built)
    probe = ["-c", "import twofiles, twofiles._two as t; print(twofiles.value(), t.__file__.rsplit('/', 1)[-1])"]
    assert b.py(*probe).stdout.split() == [str(first), "_two.cpython-314-wasm32-emscripten.so"]
    noop = b.doit(f"site:{b.target}", packages)
    assert ran(noop) == [], ran(noop)
    time.sleep(0.01)
    (proj / "src" / "module.c").touch()
    touched = b.doit(f"site:{b.target}", packages)
    assert ran(touched) == [], ran(touched)
    value.write_text(f"int twofiles_value(void) {{ return {second}; }}\n")
    edited = b.doit(f"site:{b.target}", packages)
    assert task in ran(edited)
    ccache = json.loads((ext_dir(b) / "wheels" / "twofiles.json").read_text())["ccache"]
    assert ccache.get("cache_miss") == 1 and ccache.get("local_storage_hit", 0) >= 1, ccache
    assert b.py(*probe).stdout.split()[0] == str(second)
    # by hand in the cross env, in the project's folder: PyPA's build makes the same kind of wheel
    import os
    import subprocess
    import sys
    by_hand = subprocess.run([sys.executable, "-m", "doit", "-f", str(PROJECT / "dodo.py"), "-d", str(PROJECT),
                              f"cross:{b.target}", f"cpython={b.source}", "--", "python", "-m", "build",
                              "--no-isolation", "--wheel", "-o", "dist", "."],
                             cwd=proj, env={**os.environ, "PWD": str(proj)}, capture_output=True, text=True,
                             timeout=600)
    assert by_hand.returncode == 0, by_hand.stdout[-2000:] + by_hand.stderr[-2000:]
    assert [w.name for w in (proj / "dist").glob("*.whl")] == ["twofiles-1.0-cp314-cp314-emscripten_6_0_5_wasm32.whl"]
    record("extensions-local-project", {"first build": f"{built.seconds:.1f}s", "no-op": f"{noop.seconds:.1f}s",
                                        "touch": f"{touched.seconds:.1f}s",
                                        "one C file edited": f"{edited.seconds:.1f}s", "ccache": ccache,
                                        "steps": step_times(edited)})


def test_the_package_carries_site_packages(emscripten_314, tmp_path):
    """package:<target> after site:: the tarball's interpreter, unpacked in a folder the
    build never knew, imports the compiled modules from its own lib/python3.14/site-packages."""
    b = emscripten_314
    b.doit(f"site:{b.target}")
    b.doit(f"package:{b.target}")
    tarball = next((b.source / "cross-build" / "packages").glob(f"*-{b.target}.tar.gz"))
    with tarfile.open(tarball) as tf:
        tf.extractall(tmp_path, filter="tar")
    top = next(tmp_path.iterdir())
    assert (top / "lib" / "python3.14" / "site-packages" / "markupsafe" /
            "_speedups.cpython-314-wasm32-emscripten.so").is_file()
    # node is the toolchain root's: the launcher runs there, the package bound at its own path
    import subprocess
    from wasmbuild import plan as plans, variables
    sandbox = plans.make_plan(variables.settings({})).toolchains["emscripten-forky"].sandbox
    argv, env = sandbox.command([str(top / "python"), "-c", IMPORTS], tmp_path, rw=[tmp_path])
    out = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split(" ", 4)[:4] == ["True", "True", "True", "0.2.5"], out.stdout


def test_the_browser_page_imports_a_wheel(emscripten_314):
    """web_site:<target>: the page's worker installs the site-packages before Python starts;
    in Chromium (Debian's), markupsafe's compiled _speedups and msgpack's _cmsgpack run."""
    b = emscripten_314
    out = b.doit(f"web_site:{b.target}")
    web = b.build_dir / "web"
    listing = json.loads((web / "site-packages.json").read_text())["files"]
    assert "markupsafe/_speedups.cpython-314-wasm32-emscripten.so" in listing
    from wasmbuild.provision import ensure_host_packages
    ensure_host_packages({"chromium": "chromium"}, ARTIFACTS / "apt-extensions.log", "chromium",
                         needed_by="the browser tests")
    from playwright.sync_api import sync_playwright
    from wasmbuild.web.serve import make_server
    server = make_server(web, port=0, isolation=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/python.html?repl=basic"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium"),
                                        args=["--headless", "--no-sandbox", "--disable-gpu"])
            page = browser.new_page()
            errors = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(url)
            page.wait_for_function("document.getElementById('output').textContent.includes('>>> ')",
                                   timeout=120_000)
            page.fill("#input", "import markupsafe, markupsafe._speedups as s, msgpack, msgpack._cmsgpack as c; "
                                "print('wheels', markupsafe._escape_inner is s._escape_inner, msgpack.Packer is c.Packer, "
                                "markupsafe.escape('<b>'), msgpack.unpackb(msgpack.packb({'k': 7})))")
            page.press("#input", "Enter")
            page.wait_for_function("document.getElementById('output').textContent.includes('wheels ')",
                                   timeout=60_000)
            shown = page.inner_text("#output")
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "web-extensions-3.14.png"), full_page=True)
            browser.close()
        assert "wheels True True &lt;b&gt; {'k': 7}" in shown, shown[-2000:]
        assert errors == []
        record("extensions-web", {"web_site": f"{out.seconds:.1f}s", "files": len(listing)})
    finally:
        server.shutdown()
        server.server_close()
        # the plain page fetches no site-packages: leave the folder as web: made it
        shutil.rmtree(web / "site-packages", ignore_errors=True)
        (web / "site-packages.json").unlink(missing_ok=True)


def test_wasi_refuses_in_one_line(e2e_source):
    from e2e_util import doit
    for task in ("crossenv:wasi", "wheel:wasi", "site:wasi-forky"):
        out = doit(task, f"cpython={e2e_source}", check=False)
        assert out.returncode != 0
        line = next(l for l in (out.stdout + out.stderr).splitlines() if l.startswith(f"{task}: "))
        assert "WASI has no dynamic loading" in line and "build it for an emscripten target" in line
