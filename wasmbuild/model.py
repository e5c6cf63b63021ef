"""The model: what the YAML files say, as dataclasses.

These classes are also the schema (see `schema.py`): a field without a default is a
required key. Strings may hold Jinja expressions (`{{ source }}`) that `config.py`
expands once the CPython source and the toolchain are known.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

# How a toolchain is provided: the YAML's provider names, spelt once.
DEBIAN_ROOT = "debian-root"
SYSTEM = "system"
PROVIDERS = (DEBIAN_ROOT, SYSTEM)


# ---------------------------------------------------------------- inputs


@dataclass
class Download:
    """A file fetched once into the cache, refused unless its sha256 matches."""
    file: str                      # name in the download cache
    sha256: str
    urls: list[str]                # tried in order; the first that answers wins


# ---------------------------------------------------------------- toolchains


@dataclass
class VersionCheck:
    command: list[str]
    regex: str                     # first group is the version
    minimum: str | None = None     # below: error
    recommended: str | None = None  # below: warning naming what breaks
    below_recommended: str = ""


@dataclass
class Replace:
    old: str
    new: str


@dataclass
class Patch:
    """A text edit of a file inside the toolchain, applied at provisioning."""
    file: str
    why: str
    replace: list[Replace]


@dataclass
class DebianRoot:
    """A Debian root made with debootstrap; every command runs in it through bubblewrap."""
    suite: str
    mirror: str
    packages: list[str]            # `name` or `name=version-glob`
    # debootstrap's script for the suite when it has none of its own (bookworm's
    # debootstrap knows no forky: sid's script makes it)
    script: str | None = None
    # apt-get options inside the root (a testing suite's Release files can be past their
    # Valid-Until date on a mirror: Acquire::Check-Valid-Until=false)
    apt_options: list[str] = field(default_factory=list)
    # values the provider's strings may use as {{ vars.NAME }} (versions, folder names)
    vars: dict[str, str] = field(default_factory=dict)
    inputs: list[Download] = field(default_factory=list)   # copied to /opt/wasmbuild/inputs
    patches: list[Patch] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)   # path in root: project file to install
    setup: list[str] = field(default_factory=list)        # shell, run as root in the root
    writable: list[str] = field(default_factory=list)     # paths in the root bound read-write
    host_writable: list[str] = field(default_factory=list)  # host paths every command may write (ccache)
    env: dict[str, str] = field(default_factory=dict)
    path: list[str] = field(default_factory=list)         # prepended to PATH


@dataclass
class SystemProvider:
    """Tools already on the host (emsdk, a WASI SDK)."""
    requires: list[str]            # executables that must be found (after `env`/`path`)
    env: dict[str, str] = field(default_factory=dict)
    path: list[str] = field(default_factory=list)
    how_to_get: str = ""


@dataclass
class Providers:
    debian_root: DebianRoot | None = field(default=None, metadata={"key": "debian-root"})
    system: SystemProvider | None = None


@dataclass
class Toolchain:
    name: str
    description: str
    default_provider: Literal["debian-root", "system"]
    providers: Providers
    version: VersionCheck
    checks: list[VersionCheck] = field(default_factory=list)  # e.g. Node >= 18
    env: dict[str, str] = field(default_factory=dict)         # for every provider
    # what this toolchain can do that some CPython versions need (a target's `requires`)
    provides: list[str] = field(default_factory=list)
    # another toolchain file this one starts from (its name); see config.inherit
    base: str | None = None


# ---------------------------------------------------------------- targets


@dataclass
class Step:
    """One command, run through the toolchain's sandbox."""
    run: str                       # shell command line
    cwd: str = "{{ dep_build }}"
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class Dependency:
    name: str
    version: str
    download: Download | None = None
    steps: list[Step] = field(default_factory=list)
    provides: dict[str, str] = field(default_factory=dict)   # env given to configure-host
    outputs: list[str] = field(default_factory=list)          # files that prove it was built
    after: list[str] = field(default_factory=list)            # other dependencies built first


@dataclass
class ScriptPatch:
    """A text edit of CPython's configure script. It is made to a copy in the build dir,
    which runs with --srcdir: the source tree (maybe a user's checkout) is never written."""
    why: str
    replace: list[Replace]


@dataclass
class SourcePatch:
    """A text edit of one file of the CPython source, for a release that needs it with a
    toolchain (a backport from main). The edited copy lives in the build dir and is bound
    over the original in the build commands' mount namespace only: the user's checkout is
    never written, and objects built from the file are rebuilt when the edit changes."""
    file: str                      # relative to the CPython source
    why: str
    replace: list[Replace]
    issue: str = ""                # upstream issue or PR
    # true: a convenience the build can go without where it cannot be applied
    # (provider=system has no mount namespace to show the copy): skipped with a note
    optional: bool = False


@dataclass
class Configure:
    args: list[str]
    wrapper: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    config_site: str | None = None
    # answers of wasmbuild's own that override the config.site's: written to a file in the
    # build dir that CONFIG_SITE names after config_site (autoconf 2.70+ reads each file
    # it lists, in order); the reason for each in a YAML comment beside it
    site_vars: dict[str, str] = field(default_factory=dict)
    patches: list[ScriptPatch] = field(default_factory=list)


@dataclass
class Make:
    wrapper: list[str] = field(default_factory=list)
    targets: list[str] = field(default_factory=lambda: ["all"])
    env: dict[str, str] = field(default_factory=dict)
    args: list[str] = field(default_factory=list)
    # files make's own commands read (a JS library the link takes), written into the
    # build dir before every make; make's rules (args) say what they rebuild
    inputs: list[Loader] = field(default_factory=list)
    # wasm modules (relative to the build dir) whose data relocations are applied once make
    # has linked them, where the JS beside them (X.js or X.mjs) fixes their addresses
    # (wasmbuild/artifacts/datarelocs.py); a module where that does not hold is left as is
    prelink: list[str] = field(default_factory=list)
    # Emscripten ES module factories (relative to the build dir) rewritten once make has
    # linked them so that V8 compiles the factory with the module's top level, which
    # Node's compile cache keeps (wasmbuild/artifacts/jsfactory.py says why)
    eager_factory: list[str] = field(default_factory=list)


@dataclass
class Loader:
    output: str                    # relative to the host build dir
    template: str = ""             # file under templates/, rendered with the target's variables
    # or a file copied as it is (a tree's own helper, e.g. its Platforms/emscripten/streams.mjs)
    copy: str = ""
    executable: bool = False
    vars: dict[str, str] = field(default_factory=dict)


@dataclass
class BuildPython:
    configure: Configure
    make: Make
    executable: str = "python"
    # Source paths (folders end in /) that decide the bytecode the build Python writes:
    # the stdlib zip is recompiled when one of them changes, not whenever a C edit
    # relinks the build Python.
    bytecode_inputs: list[str] = field(default_factory=list)
    # A script that targets get as their build Python (`{{ build_python }}` in a target's
    # YAML): it answers configure's version probe itself and runs the build Python for
    # everything else, so a target configures while its build Python is compiled. Without
    # it, `{{ build_python }}` is the binary and a target's configure waits for it.
    launcher: Loader | None = None


@dataclass
class StdlibZip:
    name: str                      # e.g. python{{ py_nodot }}.zip
    omit: list[str] = field(default_factory=list)        # paths relative to Lib/, dirs end in /
    omit_if_module_missing: dict[str, list[str]] = field(default_factory=dict)
    optimize: int = 0


@dataclass
class Expectation:
    """What one CPython test module is expected to do on a target (the manifest).

    `pass` is the default for every module the suite lists; `skip` is not run at all
    (it would hang or cannot work there); `xfail` is run and must fail or crash -- if
    it passes, the run says so and fails, so that the entry is removed."""
    status: Literal["pass", "skip", "xfail"] = "pass"
    reason: str = ""               # one line, from looking at the failure
    issue: str = ""                # upstream issue or PR, where known
    timeout: int | None = None     # seconds; overrides Tests.timeout for this module
    # tests skipped by name inside the module: regrtest's `-i PATTERN` (fnmatch on the
    # test id), each with its reason
    ignore: dict[str, str] = field(default_factory=dict)


@dataclass
class Tests:
    __test__ = False               # not a pytest class, whatever its name
    smoke: list[str]               # interpreter arguments of the smoke check
    expect: str                    # text the smoke check must print
    args: list[str] = field(default_factory=list)       # regrtest arguments for every module
    timeout: int = 900             # seconds a module may take before it counts as hung
    # named subsets (`doit test:<target> modules=quick`); without `modules=`, every
    # module that `-m test --list-tests` names runs
    sets: dict[str, list[str]] = field(default_factory=dict)
    manifest: dict[str, Expectation] = field(default_factory=dict)


@dataclass
class WebAsset:
    """Files of a registry package (npm's tarball) that the page loads, copied into the
    web folder at `web:` time: the page needs no CDN (wasmbuild/web/assets.py)."""
    download: Download
    files: dict[str, str]          # member of the tarball -> file name in the web folder
    integrity: str = ""            # the registry's own `sha512-<base64>` (npm dist.integrity)


@dataclass
class NodeSnapshot:
    """A Node.js start-up snapshot of the entry script (`node --build-snapshot`): a runner
    that loads it (`--snapshot-blob`) starts with Node's bootstrap and the script done.
    It is built with the runner's own node command, flags included: Node refuses a
    snapshot made with other V8 flags."""
    entry: str                     # the entry script: one of the target's loaders
    blob: str                      # the snapshot file; the runner names it after --snapshot-blob
    inputs: list[str] = field(default_factory=list)   # files the entry reads into the snapshot


@dataclass
class Web:
    """The browser example: a folder with the page, the worker, the module and the zip."""
    dir: str                       # the web folder
    steps: list[Step]              # make the browser module (run in the host build dir)
    # what the steps produce, copied into the web folder; an entry may be a glob pattern
    # (the side modules: the files it matches once the steps ran, at least one)
    files: list[str]
    # of those, the wasm modules whose data relocations are applied before they are copied
    # (as make.prelink)
    prelink: list[str] = field(default_factory=list)
    loaders: list[Loader] = field(default_factory=list)
    assets: list[WebAsset] = field(default_factory=list)
    # names (fnmatch patterns) of the folder's files that get X.zst, X.br and X.gz beside them
    # (wasmbuild/web/compress.py), which serve: sends to browsers that accept them
    compress: list[str] = field(default_factory=list)
    # the folder's stdlib zip with its entries stored, not deflated (compress.py says why)
    store_zip: bool = False
    # a folder of the web folder holding the stdlib zip's members as files, and their
    # listing beside it (<folder>.json): the basic REPL's worker fetches each module when
    # Python first reads it, not the whole zip before the start (web/stdlib_files.py).
    # Empty: the worker installs the zip.
    stdlib_files: str = ""
    # members of stdlib_files that Python's start reads: the listing names them, and the
    # worker's script holds their bytes (with the listing), so that the start reads no
    # file over the wire
    stdlib_preload: list[str] = field(default_factory=list)


@dataclass
class Package:
    """`package:<target>`: a tarball of what runs the interpreter anywhere it is unpacked.
    Besides `files` and `loaders`, it holds the stdlib zip as lib/<zip> (and the
    lib/pythonX.Y/os.py landmark by which the interpreter finds it, relative to itself),
    the source's LICENSE, build-info.json and SHA256SUMS."""
    name: str                      # the top folder and the tarball's name (without .tar.gz)
    files: list[str]               # from the build dir, to the package's top folder
    loaders: list[Loader] = field(default_factory=list)   # outputs relative to the package
    # wasm files (of `files`) whose DWARF is not shipped: the package has them stripped,
    # <name>-debug.tar.gz the debug files (same top folder: unpacked over the package, each
    # lands beside its module, where the module's external_debug_info names it)
    debug: list[str] = field(default_factory=list)


@dataclass
class Extensions:
    """Third-party C extensions for a target (wasmbuild/extensions): where wheels are
    installed for its interpreter and how their extension modules are linked, or why
    its interpreter cannot load any (then crossenv:/wheel:/site: say so and stop)."""
    unsupported: str = ""          # one line: why this target loads no C extension
    site_packages: str = ""        # the folder wheels are installed into (python.sh sees it)
    ldshared: str = ""             # how an extension module is linked (setuptools' LDSHARED)
    # link settings an extension module must share with the interpreter that loads it:
    # each one the interpreter itself was linked with is added to the module's link
    abi_flags: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)   # for every wheel build
    # pytest arguments that the interpreter needs for the packages' tests (wheel_test:)
    test_args: list[str] = field(default_factory=list)


@dataclass
class SetupLocal:
    """Modules/Setup.local written into the build dir, for versions that need it."""
    content: str
    marker: str = "# Generated by wasmbuild; removed by `doit clean`\n"


@dataclass
class Pin:
    """A toolchain version that a CPython tree pins in its own files (main's
    Platforms/emscripten/config.toml), compared at configure with the toolchain's."""
    file: str                      # relative to the CPython source; a tree without it: no pin
    key: str                       # dotted TOML key, e.g. emscripten-version, targets.wasi-sdk
    version_of: str                # the toolchain's checked command whose version it is (emcc)


@dataclass
class Overlay:
    """Settings merged into the target when every condition holds."""
    set: dict
    when: str = ""                 # version range, e.g. ">=3.14,<3.15"; empty: any
    # paths relative to the CPython source that must exist / must not exist: a layout
    # is told by its files (3.14.6 has Platforms/emscripten/ and still Tools/wasm/wasi/)
    exists: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


@dataclass
class Target:
    name: str                      # task suffix: host:<name>
    triple: str
    toolchain: str
    build_dir: str                 # under the cross-build dir
    python: str                    # supported CPython versions, e.g. ">=3.13"
    configure: Configure
    make: Make
    artifacts: list[str]           # relative to the host build dir
    stdlib_zip: StdlibZip
    tests: Tests
    runner: list[str]              # how python.sh starts the interpreter (inside the sandbox)
    loaders: list[Loader] = field(default_factory=list)
    dependencies: list[Dependency] = field(default_factory=list)
    setup_local: SetupLocal | None = None
    source_patches: list[SourcePatch] = field(default_factory=list)
    web: Web | None = None
    node_snapshot: NodeSnapshot | None = None
    package: Package | None = None
    extensions: Extensions | None = None
    # extra template variables: strings, or mappings and lists of them (a target's
    # vars.web_side_modules), rendered as the rest of the YAML is
    vars: dict[str, Any] = field(default_factory=dict)
    # capabilities the toolchain must provide (its `provides`), each with what needs it:
    # a source that needs one the toolchain lacks fails before anything runs
    requires: dict[str, str] = field(default_factory=dict)
    pins: list[Pin] = field(default_factory=list)
    overlays: list[Overlay] = field(default_factory=list)
    # Build profiles: named settings merged into the target after its overlays (partial
    # targets, as an overlay's `set`). `host:<name>` builds `default_profile`; each other
    # profile is a target of its own, `<name>-<profile>`, with its own build dir
    # (`<build_dir>-<profile>`), so that building one never reconfigures another.
    profiles: dict[str, dict] = field(default_factory=dict)
    default_profile: str | None = None
    profile: str | None = None     # the profile this target was made with (set by config)
    # another target file this one starts from (its name, without .yaml); see config.inherit
    base: str | None = None


@dataclass
class Project:
    """`project.yaml`: what every target shares."""
    build_python: BuildPython
    cpython: Download              # the default CPython source
    cpython_version: str
    # other releases `release=VERSION` can choose instead of the default
    releases: dict[str, Download] = field(default_factory=dict)
