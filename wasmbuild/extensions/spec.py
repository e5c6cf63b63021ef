"""`targets/_extensions.yaml`: the packages, C libraries and build requirements every
target's extensions share, and the PEP 783 platforms, as dataclasses (the schema, as in
`model`). A target's own part is its `extensions:` key (model.Extensions)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError
from ..model import Download, Step

FILE = "_extensions.yaml"


@dataclass
class Library:
    """A C library a package links, built for the target first (from its sources, with the
    target's toolchain), into the extensions' own prefix."""
    version: str
    download: Download
    steps: list[Step]
    outputs: list[str]                 # files that prove it was built
    # environment given to the builds of the packages that link it: CPPFLAGS (-I) and
    # LDFLAGS (-L) add to sysconfig's flags, while setuptools takes a CFLAGS as all of them
    provides: dict[str, str] = field(default_factory=dict)


@dataclass
class PackageTests:
    """What proves a built package works in the interpreter (`doit wheel_test:<target>`)."""
    # Python code run first: it fails unless the compiled module is what runs (not a
    # pure-Python fallback)
    check: str
    # pytest arguments relative to the unpacked sdist: the test files (or node ids) run
    paths: list[str]
    args: list[str] = field(default_factory=list)   # more pytest arguments (-k, -p, ...)


@dataclass
class Package:
    """A package from PyPI, built from its sdist into a wheel for each emscripten target."""
    version: str
    sdist: Download
    libraries: list[str] = field(default_factory=list)   # names under `libraries:`
    env: dict[str, str] = field(default_factory=dict)    # for its build (e.g. a feature switch)
    tests: PackageTests | None = None


@dataclass
class PyEmscriptenPlatform:
    """A PEP 783 platform (pyemscripten_<year>_<patch>): what a build must have for its
    wheels to carry that tag. Each pin is checked against the interpreter's own answers."""
    python: str                        # the CPython minor version it is defined for
    emscripten: str                    # the exact Emscripten version
    # link settings the interpreter must have been linked with (or that its Emscripten
    # applies by default, see `emscripten_defaults`)
    flags: list[str]
    # libraries linked into the interpreter: name -> how a link line spells it (any of)
    libraries: dict[str, list[str]] = field(default_factory=dict)
    forbidden: list[str] = field(default_factory=list)   # settings it must not have (-pthread)
    why: str = ""                      # where the definition comes from


@dataclass
class ExtensionsProject:
    # pip requirements installed (natively) into every cross env: the build backends and
    # code generators the packages' builds import (built with --no-build-isolation)
    build_requirements: list[str]
    packages: dict[str, Package] = field(default_factory=dict)
    libraries: dict[str, Library] = field(default_factory=dict)
    # pure-Python wheels that run the packages' own tests (pytest and what it needs):
    # wheel_test:<target> installs them into a folder of its own, not into site-packages
    test_wheels: dict[str, Download] = field(default_factory=dict)
    pyemscripten: dict[str, PyEmscriptenPlatform] = field(default_factory=dict)
    # a link setting Emscripten applies by default from a version on: flag -> version
    emscripten_defaults: dict[str, str] = field(default_factory=dict)


def load(targets_dir: Path) -> ExtensionsProject:
    """The file's content (validated), or an empty project when the folder has none (a
    targets= folder of the user's own)."""
    from .. import config, schema
    path = targets_dir / FILE
    if not path.is_file():
        return ExtensionsProject(build_requirements=[])
    project = schema.build(ExtensionsProject, config.read_yaml(path), path)
    for name, pkg in project.packages.items():
        for i, lib in enumerate(pkg.libraries):
            if lib not in project.libraries:
                raise ConfigError(path, f"packages.{name}.libraries[{i}]",
                                  f"{lib!r} is not declared under libraries: "
                                  f"(declared: {', '.join(project.libraries) or 'none'})")
    for key, dl in [*((f"packages.{n}.sdist", p.sdist) for n, p in project.packages.items()),
                    *((f"libraries.{n}.download", l.download) for n, l in project.libraries.items()),
                    *((f"test_wheels.{n}", d) for n, d in project.test_wheels.items())]:
        if len(dl.sha256) != 64:
            raise ConfigError(path, f"{key}.sha256", "expected 64 hex digits")
    return project
