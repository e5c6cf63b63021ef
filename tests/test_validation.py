"""Bad YAML: one line naming file and key, exit status 2, no traceback, nothing written."""
import re

import pytest
import yaml

EMS = "wasm32-emscripten.yaml"


def _set(path, value):
    def change(d):
        keys = re.findall(r"[^.\[\]]+|\[\d+\]", path)
        for k in keys[:-1]:
            d = d[int(k[1:-1])] if k.startswith("[") else d[k]
        last = keys[-1]
        if value is DELETE:
            del d[last]
        elif last.startswith("["):
            d[int(last[1:-1])] = value
        else:
            d[last] = value
    return change


DELETE = object()

# (case id, file, edit (data -> None) or raw text, expected key, expected message part)
CASES = [
    ("arg-mapping", EMS, _set("configure.args[3]", {"a": 1}), "configure.args[3]",
     "expected a string, got a mapping"),
    ("unknown-key", EMS, _set("colour", "red"), "colour", "unknown key"),
    ("missing-key", EMS, _set("triple", DELETE), "triple", "missing required key"),
    ("list-expected", EMS, _set("artifacts", "python.js"), "artifacts", "expected a list, got a string"),
    ("bad-range", EMS, _set("python", "3.13+"), "python", "bad version range"),
    ("bad-overlay-range", EMS, _set("overlays[0].when", "~3.14"), "overlays[0].when", "bad version range"),
    ("overlay-unknown-key", EMS, _set("overlays[0].set", {"configur": {}}), "overlays[0].set.configur",
     "unknown key"),
    ("unknown-toolchain", EMS, _set("toolchain", "emsdk"), "toolchain", "unknown toolchain 'emsdk'"),
    ("missing-template", EMS, _set("loaders[0].template", "nope.j2"), "loaders[0].template",
     "no template 'nope.j2'"),
    ("missing-make-input", EMS, _set("make.inputs[0].template", "nope.js.j2"), "make.inputs[0].template",
     "no template 'nope.js.j2'"),
    ("short-sha", EMS, _set("dependencies[0].download.sha256", "abc"), "dependencies[0].download.sha256",
     "expected 64 hex digits"),
    ("bad-after", EMS, _set("dependencies[1].after", ["zstd"]), "dependencies[1].after[0]",
     "'zstd' is not a dependency declared before"),
    ("bool-for-string", EMS, _set("triple", True), "triple", "expected a string, got true or false"),
    ("int-expected", EMS, _set("stdlib_zip.optimize", "high"), "stdlib_zip.optimize",
     "expected an integer, got a string"),
    ("undefined-variable", EMS, _set("configure.args[0]", "--host={{ nope }}"), "configure.args[0]",
     "'nope' is undefined"),
    ("not-yaml", EMS, "name: [unclosed\n", "", "not valid YAML at line"),
    ("empty-file", EMS, "", "", "the file is empty"),
    ("top-not-mapping", EMS, "- a\n- b\n", "(top level)", "expected a mapping, got a list"),
    ("provider-literal", "../toolchains/emscripten.yaml", _set("default_provider", "emsdk"),
     "default_provider", "expected one of 'debian-root', 'system'"),
    ("toolchain-name", "../toolchains/wasi.yaml", _set("name", "wasi-sdk"), "name",
     "expected 'wasi' (the file's name)"),
    ("duplicate-name", "wasm32-wasi.yaml", _set("name", "emscripten"), "name",
     "target name 'emscripten' is also used by"),
    ("dep-steps-type", "wasm32-wasi.yaml", _set("dependencies[0].steps[0]", ["make"]),
     "dependencies[0].steps[0]", "expected a mapping, got a list"),
    ("unknown-default-profile", EMS, _set("default_profile", "fast"), "default_profile",
     "expected one of the profiles (speed, size), got 'fast'"),
    ("profile-unknown-key", EMS, _set("profiles.size", {"confgure": {}}), "profiles.size.confgure",
     "unknown key"),
    ("profile-renames", EMS, _set("profiles.size", {"build_dir": "x"}), "profiles.size",
     "may not set name, build_dir"),
    ("profile-name", EMS, _set("profiles", {"speed": {}, "Small-1": {}}), "profiles.Small-1",
     "a profile name is lowercase letters and digits"),
    ("snapshot-not-loaded", EMS, _set("runner", ["node", "{{ build_dir }}/node_entry.cjs"]), "runner",
     "expected the runner to load node_snapshot.blob once: --snapshot-blob"),
    ("snapshot-entry", EMS, _set("node_snapshot.entry", "{{ build_dir }}/entry.js"), "node_snapshot.entry",
     "expected one of the target's loader outputs, got '{{ build_dir }}/entry.js'"),
]


@pytest.fixture
def writable_toolchains(fake, tmp_path):
    import shutil
    dest = tmp_path / "toolchains"
    shutil.copytree(fake.toolchains, dest)
    fake.toolchains = dest
    return fake


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_yaml_gives_one_line(writable_toolchains, case):
    fake = writable_toolchains
    _, rel, edit, key, message = case
    base = fake.toolchains if rel.startswith("../toolchains/") else fake.targets
    path = base / rel.split("/")[-1]
    if isinstance(edit, str):
        path.write_text(edit)
    else:
        data = yaml.safe_load(path.read_text())
        edit(data)
        path.write_text(yaml.safe_dump(data, sort_keys=False))
    out = fake.doit("host:emscripten", check=False)
    assert out.returncode == 2, out.stdout + out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    line = lines[0]
    assert "Traceback" not in out.stderr
    assert str(path) in line, line
    if key:
        assert f": {key}: " in line, line
    assert message in line, line
    assert not fake.cross_build.exists()          # nothing written
    assert fake.runs() == []                      # nothing run


def test_corpus_errors_are_all_different():
    messages = {(c[3], c[4]) for c in CASES}
    assert len(messages) == len(CASES) >= 12


def test_undefined_template_variable_names_template(tmp_path):
    tdir = tmp_path / "templates"
    from wasmbuild.errors import ConfigError
    from wasmbuild.render import render_template
    tdir.mkdir()
    (tdir / "x.j2").write_text("hello {{ missing_var }}\n")
    with pytest.raises(ConfigError) as e:
        render_template(tdir, "x.j2", {"target": "emscripten"})
    assert "x.j2" in str(e.value) and "missing_var" in str(e.value)


def test_simple_expressions_render_as_jinja_does():
    """render.expand looks `{{ name }}` / `{{ a.b.c }}` up directly (a no-op build's time);
    the result must be Jinja's, and anything else must still go to Jinja."""
    from wasmbuild import render
    ctx = {"source": "/src", "jobs": 2, "deps": {"libffi": {"prefix": "/p"}}, "vars": {"x": "y"}}
    for text in ["{{ source }}/Lib", "-j{{jobs}}", "{{ deps.libffi.prefix }}/lib {{ vars.x }}",
                 "a{{ source }}b{{ source }}c", "{{ jobs }}"]:
        assert render._expand_simple(text, ctx) == render._strings().from_string(text).render(ctx), text
    for text in ["{{ source|upper }}", "{% if jobs %}x{% endif %}", "{{ source ~ '/x' }}",
                 "{{ nope }}", "{{ deps.zlib.prefix }}", "{# c #}{{ source }}"]:
        assert render._expand_simple(text, ctx) is None, text
    with pytest.raises(Exception, match="'nope' is undefined"):
        render.expand("{{ nope }}", ctx, "t.yaml", "k")
