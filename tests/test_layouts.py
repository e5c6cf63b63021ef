"""What the real YAML chooses for each CPython layout, on fake trees that copy upstream's
file names (tests/fakes.py LAYOUTS): the config.site, the dependencies, the loaders, the
trampoline clang's capability; and that trixie + 3.14 fails in one line before anything
runs. Nothing of 3.14 or main can be fetched here, so these trees stand in for them."""

from pathlib import Path

import pytest

import fakes
from wasmbuild.plan import Settings, make_plan

PROJECT = fakes.PROJECT

# layout -> version it is given, what each target's config.site is, relative to the source
CASES = {
    "3.13": ("3.13.5", "Tools/wasm/config.site-wasm32-emscripten",
             "Tools/wasm/config.site-wasm32-wasi"),
    "3.14.0": ("3.14.0", "Tools/wasm/emscripten/config.site-wasm32-emscripten",
               "Tools/wasm/wasi/config.site-wasm32-wasi"),
    "3.14.6": ("3.14.6", "Platforms/emscripten/config.site-wasm32-emscripten",
               "Tools/wasm/wasi/config.site-wasm32-wasi"),
    "3.14.7": ("3.14.7", "Platforms/emscripten/config.site-wasm32-emscripten",
               "Tools/wasm/wasi/config.site-wasm32-wasi"),
    "main": ("3.16.0a0", "Platforms/emscripten/config.site-wasm32-emscripten",
             "Platforms/WASI/config.site-wasm32-wasi"),
}


def _plan(tmp_path, layout, **settings):
    version = CASES[layout][0]
    tree = fakes.make_cpython_tree(tmp_path / f"cpython-{layout}", version, layout=layout)
    return tree, make_plan(Settings(cpython=str(tree), cross_build=str(tmp_path / "cb"), **settings))


@pytest.mark.parametrize("layout", CASES)
def test_layout_chooses_config_site_and_dependencies(tmp_path, layout):
    tree, plan = _plan(tmp_path, layout)
    _, ems_site, wasi_site = CASES[layout]
    for name in ("emscripten", "emscripten-forky"):
        t = plan.targets[name].target
        assert t.configure.config_site == str(tree / ems_site), name
        deps = [d.name for d in t.dependencies]
        if layout == "3.13":
            # ncurses: 3.13's pyrepl needs _curses (3.14 reads terminfo in Python)
            assert deps == ["libffi", "ports", "ncurses"] and t.artifacts == ["python.js", "python.wasm"]
        else:
            # upstream builds mpdecimal too, and one python.mjs for Node and browsers
            assert deps == ["libffi", "ports", "mpdecimal"] and t.artifacts == ["python.mjs", "python.wasm"]
            assert "--enable-big-digits=30" in t.configure.args
    for name in ("wasi", "wasi-forky"):
        assert plan.targets[name].target.configure.config_site == str(tree / wasi_site), name
    # wasmtime's wasm stack: 3.13's 8 MiB, 3.14's 16 MiB; main with LLVM 22: 32 MiB
    stack = {"3.13": "8388608", "3.14.0": "16777216", "3.14.6": "16777216", "3.14.7": "16777216",
             "main": "33554432"}[layout]
    assert f"max-wasm-stack={stack}" in plan.targets["wasi-forky"].target.runner


def test_a_config_site_the_tree_lacks_is_not_chosen(tmp_path):
    """A 3.14.6 tree minus its Platforms/emscripten/ config.site falls back to nothing of
    main's: the file decides, not the version."""
    tree = fakes.make_cpython_tree(tmp_path / "t", "3.14.6", layout="3.14.0")
    plan = make_plan(Settings(cpython=str(tree), cross_build=str(tmp_path / "cb")))
    assert plan.targets["emscripten"].target.configure.config_site.endswith(
        "Tools/wasm/emscripten/config.site-wasm32-emscripten")


@pytest.mark.parametrize("layout", ["3.14.0", "3.14.6", "main"])
def test_trampoline_clang_needs_llvm22(tmp_path, layout):
    _, plan = _plan(tmp_path, layout)
    trixie, forky = plan.targets["emscripten"], plan.targets["emscripten-forky"]
    assert "wasm-function-pointer-test" in trixie.target.requires
    assert forky.unsupported is None
    msg = trixie.unsupported
    assert msg and "\n" not in msg
    assert "__builtin_wasm_test_function_pointer_signature" in msg
    assert "toolchain emscripten " in msg and "emscripten-forky" in msg and "host:emscripten-forky" in msg
    # WASI has no trampoline: both toolchains can build it
    assert plan.targets["wasi"].unsupported is None


def test_313_needs_no_trampoline_clang(tmp_path):
    _, plan = _plan(tmp_path, "3.13")
    assert all(t.unsupported is None for t in plan.targets.values())
    assert plan.targets["emscripten"].target.requires == {}


@pytest.mark.parametrize("layout", ["3.14.0", "main"])
def test_trixie_on_314_fails_in_one_line_before_anything_runs(fake, layout):
    """Through doit, on the real target YAML: `host:emscripten` of a 3.14 tree fails with
    the one line, and nothing (no toolchain, no configure) ran."""
    import shutil
    shutil.rmtree(fake.src)
    fakes.make_cpython_tree(fake.src, CASES[layout][0], layout=layout)
    out = fake.doit("host:emscripten", check=False)
    assert out.returncode != 0
    # the failure is one line (the build report repeats it, cut to its width)
    lines = [l for l in (out.stdout + out.stderr).splitlines() if l.startswith("CPython ")]
    assert len(lines) == 1 and "LLVM 22" in lines[0] and lines[0].endswith(
        "toolchain emscripten-forky does (build with host:emscripten-forky)"), out.stdout + out.stderr
    assert "Traceback" not in out.stderr
    assert fake.runs() == []
    assert not (fake.cross_build / "wasm32-emscripten").exists()


def test_upstream_pins_are_reported(tmp_path):
    from wasmbuild import pins
    tree = fakes.make_cpython_tree(tmp_path / "main", "3.16.0a0", layout="main")
    found = pins.read(tree, "Platforms/emscripten/config.toml", "emscripten-version")
    assert found == "6.0.6"
    assert pins.read(tree, "Platforms/WASI/config.toml", "targets.wasi-sdk") == "33"
    assert pins.read(tree, "Tools/wasm/emscripten/config.toml", "emscripten-version") is None
    line = pins.compare("Platforms/emscripten/config.toml", "emscripten-version", "6.0.6", "6.0.5",
                        "emscripten-forky", "emcc")
    assert line == ("Platforms/emscripten/config.toml pins emscripten-version 6.0.6; "
                    "toolchain emscripten-forky has emcc 6.0.5")
    assert pins.compare("x.toml", "k", "6.0.5", "6.0.5+dfsg-1", "t", "emcc") is None


def test_variant_inherits_and_overrides(tmp_path):
    """A variant is the keys that differ: emscripten-forky has the base's manifest and
    dependencies, its own name, toolchain and build dir."""
    _, plan = _plan(tmp_path, "3.13")
    base, variant = plan.targets["emscripten"], plan.targets["emscripten-forky"]
    assert variant.target.toolchain == "emscripten-forky"
    assert variant.build_dir != base.build_dir
    assert [d.name for d in variant.target.dependencies] == [d.name for d in base.target.dependencies]
    # the base's manifest less what the variant removes with null (fixed in 6.0.5)
    removed = {"test_datetime", "test_io", "test_tempfile"}
    assert set(variant.target.tests.manifest) == set(base.target.tests.manifest) - removed
    assert "*.test_strftime_invalid_format" in base.target.tests.manifest["test_time"].ignore
    assert "*.test_strftime_invalid_format" not in variant.target.tests.manifest["test_time"].ignore
    assert "*.test_process_time" in variant.target.tests.manifest["test_time"].ignore


def test_release_is_one_the_yaml_declares(tmp_path, monkeypatch):
    from wasmbuild.errors import ConfigError
    monkeypatch.setenv("WASMBUILD_CACHE", str(tmp_path / "cache"))
    plan = make_plan(Settings(release="3.13.15", cross_build=str(tmp_path / "cb")))
    assert plan.source.version == "3.13.15" and plan.source.path.name == "cpython-3.13.15"
    assert plan.project.cpython.file == "python3.13_3.13.15.orig.tar.xz"
    with pytest.raises(ConfigError, match=r"release=3.9.1 is not declared \(declared: 3.13.5, 3.13.15\)"):
        make_plan(Settings(release="3.9.1"))


@pytest.mark.parametrize("text, message", [
    ("base: nowhere\nname: x\n", "no file nowhere.yaml in"),
    ("base: cyc\nname: cyc\n", "leads back to this file"),
    ("base: [a]\nname: x\n", "expected the name of a file"),
])
def test_bad_base_is_one_line(tmp_path, text, message):
    from wasmbuild import config
    from wasmbuild.errors import ConfigError
    (tmp_path / "cyc.yaml").write_text(text)
    with pytest.raises(ConfigError, match=message) as e:
        config.inherit(tmp_path / "cyc.yaml")
    assert "cyc.yaml: base: " in str(e.value) and "\n" not in str(e.value)


def test_debug_variant_is_a_few_keys(tmp_path):
    """The README's example: a variant with `args+` extends the base's arguments."""
    import shutil
    from wasmbuild import config
    targets = tmp_path / "targets"
    shutil.copytree(PROJECT / "targets", targets)
    (targets / "wasm32-emscripten-debug.yaml").write_text(
        "base: wasm32-emscripten\nname: emscripten-debug\nbuild_dir: wasm32-emscripten-debug\n"
        "configure: {args+: [--with-pydebug]}\n")
    loaded = config.load_targets(targets, "3.13.5")
    base, debug = loaded["emscripten"][0], loaded["emscripten-debug"][0]
    assert debug.configure.args == [*base.configure.args, "--with-pydebug"]
    assert debug.configure.config_site == base.configure.config_site and debug.toolchain == "emscripten"


def test_3147_as_upstreams_scripts_run_it(tmp_path):
    """What the real 3.14.7 tree gets: make's build_wasm (not `all`, whose zip rule writes
    into the source), the tree's streams.mjs beside node_entry.mjs and in the package,
    Node 24's JSPI flag with forky's runner settings, and stub threads on WASI."""
    tree, plan = _plan(tmp_path, "3.14.7")
    ems = plan.targets["emscripten-forky"].target
    assert ems.make.targets == ["build_wasm"]
    assert "EXTRA_CFLAGS=-MMD" in ems.make.args            # the base's args are kept
    copies = {l.output: l.copy for l in ems.loaders if l.copy}
    assert copies == {str(plan.cross_build / "wasm32-emscripten-forky" / "streams.mjs"):
                      str(tree / "Platforms/emscripten/streams.mjs")}
    assert ems.vars["streams"] == "streams.mjs"
    assert "--experimental-wasm-jspi" in ems.runner and "LLVM_PROFILE_FILE=/dev/null" in ems.runner
    assert ems.runner.index("--experimental-wasm-jspi") < ems.runner.index(
        str(plan.cross_build / "wasm32-emscripten-forky" / "node_entry.mjs"))
    assert [l.output for l in ems.package.loaders] == ["node_entry.mjs", "python", "streams.mjs"]
    assert ems.package.files == ["python.mjs", "python.wasm"] and ems.package.name
    wasi = plan.targets["wasi-forky"].target
    assert [p.why.split(":")[0] for p in wasi.configure.patches] == ["keep stub threads on WASI"]
    # 3.13's NODERAWFS manifest is dropped (an overlay's null removes an entry), and
    # forky's own entry for 3.14 added
    assert list(ems.tests.manifest) == ["test_platform"]
    # the base's static strings' patch (every version), then 3.14's own two
    assert [p.file for p in ems.source_patches] == ["Objects/unicodeobject.c",
                                                    "Python/emscripten_syscalls.c",
                                                    "Python/emscripten_trampoline.c"]


def test_main_layout_gets_no_stub_thread_patch(tmp_path):
    _, plan = _plan(tmp_path, "main")
    assert plan.targets["wasi-forky"].target.configure.patches == []


@pytest.mark.parametrize("layout", CASES)
def test_every_node_entry_imports_only_loaders_that_are_rendered(tmp_path, layout):
    """pyrepl's termios goes with 3.13's NODERAWFS entry (in the script itself) and with the
    tree's streams.mjs (3.14.4+: node_tty.mjs); a 3.14.0 tree has neither streams.mjs nor
    node_tty.mjs, and its entry imports neither. An entry built into a Node snapshot
    (3.13 on trixie) needs no file but the interpreter's: a snapshot holds Node's own
    modules only."""
    import re
    from wasmbuild.render import render_loader
    tree, plan = _plan(tmp_path, layout)
    with_tty = layout == "3.13" or (tree / "Platforms/emscripten/streams.mjs").exists()
    for name in ("emscripten", "emscripten-forky"):
        tgt = plan.targets[name]
        if tgt.unsupported:
            continue
        outputs = {l.output.rsplit("/", 1)[-1] for l in tgt.target.loaders}
        entry = next(l for l in tgt.target.loaders if "/node_entry." in l.output)
        text = render_loader(plan.settings.templates_dir, entry, dict(tgt.context, runner=tgt.target.runner))
        imported = set(re.findall(r'(?:from |require\()"\./([^"]+)"', text)) - {tgt.target.vars["interpreter"]}
        assert imported <= outputs, (name, imported, outputs)
        has_tty = "node_tty.mjs" in imported or "function initializeTermios(" in text
        assert has_tty == with_tty, (name, imported)
        if tgt.target.node_snapshot:
            assert entry.output == tgt.target.node_snapshot.entry and not imported, name
            assert not re.search(r'^import |import\(', text, re.M), name


def test_each_profile_is_a_target_with_its_own_build_dir(tmp_path):
    """`host:<target>` builds the default profile; every other one is `<target>-<profile>`
    in `<build_dir>-<profile>`, with the profile's settings after the version's overlays."""
    _, plan = _plan(tmp_path, "3.14.7")
    default, size = plan.targets["emscripten-forky"], plan.targets["emscripten-forky-size"]
    assert (default.target.profile, size.target.profile) == ("speed", "size")
    assert size.build_dir == default.build_dir.with_name(default.build_dir.name + "-size")
    assert size.deps_dir != default.deps_dir
    # the 3.14 overlay's arguments, then the profile's
    own = lambda args, tp: [a.replace(str(tp.deps_dir), "DEPS") for a in args]
    assert own(size.target.configure.args, size) == [*own(default.target.configure.args, default),
                                                     "OPT=-DNDEBUG -Oz -Wall", "--disable-test-modules"]
    assert size.target.make.env == {"EMCC_CFLAGS": "-Oz"} and default.target.make.env == {}
    assert "python-3.14.7-emscripten-forky-size" == size.target.package.name
    assert plan.targets["wasi-size"].target.configure.args[-2:] == ["OPT=-DNDEBUG -Os -Wall", "--disable-test-modules"]


@pytest.mark.parametrize("layout", CASES)
def test_site_packages_is_outside_every_build_dir(tmp_path, layout):
    """CPython's `make clean` (run when the toolchain changes) deletes every *.so below its
    build dir: the wheels' extension modules must live elsewhere, as the dependencies do."""
    _, plan = _plan(tmp_path, layout)
    checked = 0
    for name, tgt in plan.targets.items():
        ext = tgt.target.extensions
        if tgt.unsupported or ext is None or ext.unsupported or not ext.site_packages:
            continue
        site = Path(ext.site_packages)
        assert site.parent == tgt.build_dir.parent, (name, site)     # in the cross-build dir
        for other in plan.targets.values():
            assert not site.is_relative_to(other.build_dir), (name, site, other.build_dir)
        checked += 1
    assert checked >= 2, checked


def test_site_installs_anew_when_its_folder_moves(tmp_path):
    """site:'s uptodate holds the folder it installs into: a site-packages moved in the YAML
    (as from <build_dir>/site-packages to <build_dir>-site-packages) is installed anew, not
    left in the old place with doit calling the task done."""
    from wasmbuild.extensions.layout import plan_extensions
    from wasmbuild.extensions.tasks import extension_tasks
    _, plan = _plan(tmp_path, "3.13")

    def site_config():
        task = next(t for t in extension_tasks(plan, plan_extensions(plan))
                    if t["basename"] == "site" and t["name"] == "emscripten")
        return task["uptodate"][0].config

    first = site_config()
    assert site_config() == first
    plan.targets["emscripten"].target.extensions.site_packages = str(tmp_path / "elsewhere")
    assert site_config() != first
