"""Third-party C extensions (wasmbuild/extensions): the tags a built interpreter accepts,
PEP 783's pins, the one-line refusals, wheel installation, the cross env's startup module
and the task graph, with fakes (the e2e tests build real wheels: tests/e2e/test_c_extensions.py)."""
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from fakes import PROJECT
from wasmbuild.errors import ConfigError, WasmbuildError
from wasmbuild.extensions import layout, spec, tags
from wasmbuild.extensions.site import install_wheels

# what crossenv.PROBE answered on the real builds (3.13.5 with Emscripten 3.1.69, 3.14.7
# with 6.0.5), cut to what the tags use
FACTS_313 = {"platform": "emscripten-3.1.69-wasm32", "version": [3, 13, 5], "emscripten": "3.1.69",
             "extension_suffixes": [".cpython-313-wasm32-emscripten.so", ".abi3.so", ".so"],
             "flags": {"LINKFORSHARED": "-sMAIN_MODULE -O2 -g0",
                       "PY_LDFLAGS_NODIST": "-sALLOW_MEMORY_GROWTH -sWASM_BIGINT -sNODERAWFS",
                       "MODLIBS": "-sUSE_ZLIB -sUSE_BZIP2 -sUSE_SQLITE3 -lffi"}}
FACTS_314 = {"platform": "emscripten-6.0.5-wasm32", "version": [3, 14, 7], "emscripten": "6.0.5",
             "extension_suffixes": [".cpython-314-wasm32-emscripten.so", ".abi3.so", ".so"],
             "flags": {"LINKFORSHARED": "-sMAIN_MODULE -sSTACK_SIZE=5MB -O2 -g0",
                       "PY_LDFLAGS_NODIST": "-sWASM_BIGINT -sEXIT_RUNTIME",
                       "MODLIBS": "-lmpdec -sUSE_ZLIB -sUSE_BZIP2 -lffi -sUSE_SQLITE3"}}


def project():
    return spec.load(PROJECT / "targets")


def test_platform_tag_is_get_platform_as_packaging_spells_it():
    assert tags.platform_tag("emscripten-3.1.69-wasm32") == "emscripten_3_1_69_wasm32"
    assert tags.platform_tag("emscripten-6.0.5-wasm32") == "emscripten_6_0_5_wasm32"


def test_interpreter_tags_name_its_version_and_emscripten():
    accepted = tags.interpreter_tags(FACTS_314)
    assert accepted[0] == "cp314-cp314-emscripten_6_0_5_wasm32"
    assert "cp314-abi3-emscripten_6_0_5_wasm32" in accepted and "py3-none-any" in accepted
    assert not any("3_1_69" in t or "cp313-cp313" in t or "manylinux" in t for t in accepted)
    no_abi3 = dict(FACTS_314, extension_suffixes=[".cpython-314-wasm32-emscripten.so", ".so"])
    assert not any("-abi3-" in t for t in tags.interpreter_tags(no_abi3))


def test_a_wheel_of_the_other_toolchain_is_refused_in_one_line_naming_both_tags():
    accepted = tags.interpreter_tags(FACTS_314)
    wheel = "markupsafe-3.0.4-cp313-cp313-emscripten_3_1_69_wasm32.whl"
    with pytest.raises(WasmbuildError) as e:
        tags.check_wheel(wheel, accepted, "emscripten-forky (CPython 3.14.7)")
    msg = str(e.value)
    assert "\n" not in msg
    assert "cp313-cp313-emscripten_3_1_69_wasm32" in msg and "cp314-cp314-emscripten_6_0_5_wasm32" in msg
    # the same Python with another Emscripten is refused too: the version is the ABI
    with pytest.raises(WasmbuildError, match="emscripten_3_1_69_wasm32.*emscripten_6_0_5_wasm32"):
        tags.check_wheel("x-1-cp314-cp314-emscripten_3_1_69_wasm32.whl", accepted, "t")
    tags.check_wheel("markupsafe-3.0.4-cp314-cp314-emscripten_6_0_5_wasm32.whl", accepted, "t")
    tags.check_wheel("pytest-9.2.0-py3-none-any.whl", accepted, "t")
    with pytest.raises(WasmbuildError, match="not a wheel file name"):
        tags.check_wheel("markupsafe.tar.gz", accepted, "t")


def test_neither_build_claims_pep_783():
    p = project()
    claimed, notes = tags.pyemscripten_claims(FACTS_314, p.pyemscripten, p.emscripten_defaults)
    assert claimed == []
    assert len(notes) == 1 and notes[0].startswith("pyemscripten_2026_0_wasm32 not claimed: ")
    assert "Emscripten 6.0.5 (it pins 5.0.3)" in notes[0]
    assert "-fwasm-exceptions" in notes[0] and "-sWASM_BIGINT" not in notes[0].split("without")[1].split(";")[0]
    # 3.13 has no PEP 783 platform at all: nothing to claim, nothing to say
    assert tags.pyemscripten_claims(FACTS_313, p.pyemscripten, p.emscripten_defaults) == ([], [])


def test_a_build_that_meets_every_pin_claims_the_platform():
    p = project()
    libs = " ".join(spellings[0] for spellings in p.pyemscripten["2026_0"].libraries.values())
    facts = dict(FACTS_314, emscripten="5.0.3", platform="emscripten-5.0.3-wasm32",
                 flags={"LINKFORSHARED": "-sMAIN_MODULE -fwasm-exceptions -sSUPPORT_LONGJMP=wasm",
                        "MODLIBS": libs})
    claimed, notes = tags.pyemscripten_claims(facts, p.pyemscripten, p.emscripten_defaults)
    assert (claimed, notes) == (["2026_0"], [])      # -sWASM_BIGINT: 5.0.3's default
    accepted = tags.interpreter_tags(facts, claimed)
    assert accepted[0] == "cp314-cp314-pyemscripten_2026_0_wasm32"
    assert "cp314-cp314-emscripten_5_0_3_wasm32" in accepted
    # -pthread breaks it, and so does turning the default off
    for extra in ("-pthread", "-sWASM_BIGINT=0"):
        bad = dict(facts, flags=dict(facts["flags"], CFLAGS=extra))
        claimed, notes = tags.pyemscripten_claims(bad, p.pyemscripten, p.emscripten_defaults)
        assert claimed == [] and ("-pthread" in notes[0] or "-sWASM_BIGINT" in notes[0]), notes


def test_extensions_yaml_loads_and_a_bad_reference_is_one_line(tmp_path):
    p = project()
    assert set(p.packages) == {"markupsafe", "msgpack", "pyyaml"}
    assert p.packages["pyyaml"].libraries == ["libyaml"] and "pytest" in p.test_wheels
    (tmp_path / spec.FILE).write_text((PROJECT / "targets" / spec.FILE).read_text()
                                      .replace("libraries: [libyaml]", "libraries: [libyml]"))
    with pytest.raises(ConfigError) as e:
        spec.load(tmp_path)
    assert "packages.pyyaml.libraries[0]: 'libyml' is not declared" in str(e.value)
    assert spec.load(tmp_path / "nowhere").packages == {}


def test_packages_variable_names_yaml_packages_sdists_and_folders(tmp_path):
    p = project()
    assert [s.name for s in layout.sources(p, None)] == ["markupsafe", "msgpack", "pyyaml"]
    folder = tmp_path / "My-Ext"
    folder.mkdir()
    sdist = tmp_path / "foo_bar-1.0.tar.gz"
    sdist.write_bytes(b"")
    chosen = layout.sources(p, f"msgpack,{folder},{sdist}")
    assert [(s.name, s.is_folder) for s in chosen] == [("msgpack", False), ("my-ext".replace("-", "_"), True),
                                                       ("foo_bar", False)]
    with pytest.raises(WasmbuildError, match="neither a package declared"):
        layout.sources(p, "markupsafe,nosuch")
    with pytest.raises(WasmbuildError, match="named twice"):
        layout.sources(p, "msgpack,msgpack")
    with pytest.raises(WasmbuildError, match="not a wheel file"):
        layout.extra_wheels(str(sdist))


def _wheel(dest: Path, name: str, tag: str, files: dict[str, bytes]) -> Path:
    """A minimal valid wheel (WHEEL, METADATA, RECORD)."""
    dist, version = name, "1.0"
    path = dest / f"{dist}-{version}-{tag}.whl"
    info = f"{dist}-{version}.dist-info"
    entries = dict(files)
    entries[f"{info}/METADATA"] = f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n".encode()
    entries[f"{info}/WHEEL"] = (f"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: false\n"
                                f"Tag: {tag}\n").encode()
    entries[f"{info}/RECORD"] = "".join(f"{n},,\n" for n in [*entries, f"{info}/RECORD"]).encode()
    with zipfile.ZipFile(path, "w") as zf:
        for n, data in entries.items():
            zf.writestr(n, data)
    return path


def test_install_puts_wheels_in_site_and_refuses_a_foreign_one_without_touching_it(tmp_path):
    accepted = tags.interpreter_tags(FACTS_314)
    good = _wheel(tmp_path, "fast", "cp314-cp314-emscripten_6_0_5_wasm32",
                  {"fast/__init__.py": b"from ._speed import f\n",
                   "fast/_speed.cpython-314-wasm32-emscripten.so": b"\0asm"})
    pure = _wheel(tmp_path, "pure", "py3-none-any", {"pure.py": b"x = 1\n"})
    site, record = tmp_path / "site-packages", tmp_path / "site.json"
    files = install_wheels([good, pure], site, accepted, "emscripten-forky (CPython 3.14.7)", record)
    assert (site / "fast" / "_speed.cpython-314-wasm32-emscripten.so").read_bytes() == b"\0asm"
    assert (site / "pure.py").is_file() and "fast-1.0.dist-info/INSTALLER" in files
    assert not list(site.rglob("*.pyc"))                    # no bytecode of the host's Python
    before = sorted(p.relative_to(site) for p in site.rglob("*"))
    foreign = _wheel(tmp_path, "old", "cp313-cp313-emscripten_3_1_69_wasm32", {"old.py": b""})
    with pytest.raises(WasmbuildError) as e:
        install_wheels([pure, foreign], site, accepted, "emscripten-forky (CPython 3.14.7)", record)
    assert "cp313-cp313-emscripten_3_1_69_wasm32" in str(e.value) and "cp314-cp314-emscripten_6_0_5_wasm32" in str(e.value)
    assert sorted(p.relative_to(site) for p in site.rglob("*")) == before


def test_the_startup_module_points_sysconfig_at_the_target(tmp_path):
    """What the cross env's Pythons do at start (real host Python, a fake target
    sysconfigdata): the platform, EXT_SUFFIX and LDSHARED are the target's; the caller's
    LDSHARED wins; WASMBUILD_CROSS=0 turns it all off."""
    site, target = tmp_path / "site", tmp_path / "target"
    site.mkdir()
    target.mkdir()
    (target / "_sysconfigdata__emscripten_fake.py").write_text(
        "build_time_vars = {'EXT_SUFFIX': '.cpython-314-wasm32-emscripten.so', 'SOABI': 'cpython-314-wasm32-emscripten', "
        "'CC': 'emcc', 'LDSHARED': 'emcc -shared', 'VERSION': '3.14'}\n")
    (site / "_wasmbuild_cross.py").write_text((PROJECT / "wasmbuild/extensions/startup.py").read_text())
    (site / "_wasmbuild_cross.json").write_text(json.dumps({
        "env": {"_PYTHON_HOST_PLATFORM": "emscripten-6.0.5-wasm32",
                "_PYTHON_SYSCONFIGDATA_NAME": "_sysconfigdata__emscripten_fake",
                "_PYTHON_SYSCONFIGDATA_PATH": str(target), "_PYTHON_PROJECT_BASE": str(tmp_path)},
        "defaults": {"LDSHARED": "emcc -shared -sSIDE_MODULE=1"}, "sysconfigdata_dir": str(target)}))
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import _wasmbuild_cross, os, sysconfig; "
            "print(sysconfig.get_platform(), sysconfig.get_config_var('EXT_SUFFIX'), os.environ.get('LDSHARED'))")

    def run(**env):
        base = {k: v for k, v in os.environ.items() if not k.startswith(("_PYTHON", "LDSHARED"))}
        out = subprocess.run([sys.executable, "-c", code, str(site)], capture_output=True, text=True,
                             env={**base, **env})
        assert out.returncode == 0, out.stderr
        return out.stdout.split(None, 2)

    assert run() == ["emscripten-6.0.5-wasm32", ".cpython-314-wasm32-emscripten.so", "emcc -shared -sSIDE_MODULE=1\n"]
    assert run(LDSHARED="mine")[2].strip() == "mine"
    native = run(WASMBUILD_CROSS="0")
    assert native[0].startswith("linux-") and "emscripten" not in native[1]


def test_task_graph_and_the_wasi_refusal(fake):
    names = {line.split()[0] for line in fake.doit("list", "--all").stdout.splitlines() if line.strip()}
    for t in ("emscripten", "emscripten-forky"):
        assert {f"crossenv:{t}", f"wheel:{t}", f"wheel:{t}-markupsafe", f"wheel:{t}-pyyaml",
                f"wheel_lib:{t}-libyaml", f"site:{t}", f"web_site:{t}", f"wheel_test:{t}"} <= names
    assert "wheel_lib:wasi-libyaml" not in names
    info = fake.doit("info", "wheel:emscripten-pyyaml", check=False).stdout
    assert "crossenv:emscripten" in info and "wheel_lib:emscripten-libyaml" in info
    for task in ("crossenv:wasi", "wheel:wasi", "site:wasi"):
        out = fake.doit(task, check=False)
        assert out.returncode != 0
        line = next(l for l in (out.stdout + out.stderr).splitlines() if l.startswith(task))
        assert line == (f"{task}: WASI has no dynamic loading (wasi-libc has no dlopen and CPython's "
                        "configure does not implement --enable-wasm-dynamic-linking for WASI), so a C "
                        "extension cannot be loaded from a wheel; build it for an emscripten target "
                        "(crossenv:emscripten)")
    assert fake.runs() == []                                 # nothing was built for the refusal


def test_a_bad_packages_variable_stops_before_anything_runs(fake):
    out = fake.doit("wheel:emscripten", "packages=markupsafe,/no/such/dir", check=False)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        "wasmbuild: packages=markupsafe,/no/such/dir: '/no/such/dir' is neither a package declared in "
        "targets/_extensions.yaml (markupsafe, msgpack, pyyaml) nor an sdist (.tar.gz, .zip) or a project folder"]
    assert fake.runs() == []
