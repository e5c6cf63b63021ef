"""Where a target's extension work lives, and what `packages=` / `wheels=` name: paths
and choices only, computed when doit loads the tasks (nothing runs, nothing is written)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import WasmbuildError
from ..model import Extensions
from ..plan import Plan, TargetPlan
from .spec import FILE, ExtensionsProject, Library, Package


# what a build writes into a project folder (never copied from the user's folder, never
# part of its signature; extensions.build keeps them in the work copy): names, and *.egg-info
FOLDER_OUTPUTS = {"build", "dist", "__pycache__", ".git", ".hg", ".tox", ".nox", ".venv", ".eggs"}


@dataclass
class Source:
    """One thing `wheel:` builds: a package declared in _extensions.yaml (its sdist from
    PyPI), or a local sdist file or project folder given with packages=."""
    name: str                          # task suffix, wheel record name
    package: Package | None = None     # declared in the YAML
    path: Path | None = None           # a local sdist (.tar.gz, .zip) or a folder

    @property
    def is_folder(self) -> bool:
        return self.path is not None and self.path.is_dir()


@dataclass
class ExtPlan:
    """A target's extension paths. Beside the build dir (as its dependencies are), so
    that CPython's `make clean` (which removes every *.so and *.a below it) leaves the
    wheels and libraries alone; the site-packages folder is where the target's YAML says."""
    tgt: TargetPlan
    spec: Extensions
    project: ExtensionsProject
    sources: list[Source]
    extra_wheels: list[Path] = field(default_factory=list)
    project_file: Path = Path(FILE)        # for error messages

    @property
    def name(self) -> str:
        return self.tgt.name

    @property
    def root(self) -> Path:
        return site_record_path(self.tgt).parent

    @property
    def env(self) -> Path:
        return self.root / "env"

    @property
    def facts(self) -> Path:
        """The interpreter's answers and the tags they give (written last by crossenv:)."""
        return self.env / "wasmbuild-target.json"

    @property
    def wheels(self) -> Path:
        return self.root / "wheels"

    def record(self, source: Source) -> Path:
        """What wheel:<target>-<name> built (the wheel's file name and sha256)."""
        return self.wheels / f"{source.name}.json"

    def work(self, source: Source) -> Path:
        """The unpacked sdist, or the copy of a folder, built in place (its build/ keeps
        the objects between builds)."""
        return self.root / "src" / source.name

    def library_src(self, name: str) -> Path:
        return self.root / "lib" / name

    def library(self, name: str) -> Library:
        """The YAML's library with its strings expanded: {{ prefix }} (the extensions'
        prefix), {{ dep_src }}, {{ jobs }} and the target's variables."""
        from ..render import expand
        src = self.library_src(name)
        ctx = dict(self.tgt.context, prefix=str(self.prefix), dep_src=str(src), dep_build=str(src),
                   dep_name=name, dep_version=self.project.libraries[name].version)
        return expand(self.project.libraries[name], ctx, self.project_file, f"libraries.{name}")

    @property
    def prefix(self) -> Path:
        return self.root / "prefix"

    @property
    def site(self) -> Path:
        return Path(self.spec.site_packages)

    @property
    def site_record(self) -> Path:
        return site_record_path(self.tgt)


def site_record_path(tgt: TargetPlan) -> Path:
    """What site:<target> installed last (package:<target> reads it)."""
    return tgt.build_dir.parent / f"{tgt.target.build_dir}-ext" / "site.json"


def _name_of(path: Path) -> str:
    """A task-name-safe name: a folder's own, an sdist's project name."""
    stem = path.name
    if path.is_file():
        stem = re.sub(r"\.(tar\.gz|tgz|zip)$", "", stem)
        stem = stem.rsplit("-", 1)[0] if "-" in stem else stem
    return re.sub(r"[^A-Za-z0-9_.]+", "_", stem).lower()


def sources(project: ExtensionsProject, packages: str | None) -> list[Source]:
    """What packages= names (default: every package of the YAML), in its order."""
    if not packages:
        return [Source(name, package=pkg) for name, pkg in project.packages.items()]
    out: list[Source] = []
    for item in (i.strip() for i in packages.split(",")):
        if not item:
            continue
        if item in project.packages:
            src = Source(item, package=project.packages[item])
        else:
            path = Path(item).expanduser().resolve()
            if not (path.is_dir() or (path.is_file() and re.search(r"\.(tar\.gz|tgz|zip)$", path.name))):
                known = ", ".join(project.packages) or "none"
                raise WasmbuildError(f"packages={packages}: {item!r} is neither a package declared in "
                                     f"targets/_extensions.yaml ({known}) nor an sdist (.tar.gz, .zip) "
                                     f"or a project folder")
            src = Source(_name_of(path), path=path)
        if any(s.name == src.name for s in out):
            raise WasmbuildError(f"packages={packages}: {src.name!r} is named twice")
        out.append(src)
    return out


def extra_wheels(wheels: str | None) -> list[Path]:
    out = []
    for item in (i.strip() for i in (wheels or "").split(",")):
        if not item:
            continue
        path = Path(item).expanduser().resolve()
        if not path.is_file() or path.suffix != ".whl":
            raise WasmbuildError(f"wheels={wheels}: {item!r} is not a wheel file (.whl)")
        out.append(path)
    return out


def plan_extensions(plan: Plan) -> dict[str, ExtPlan]:
    """Every target with an `extensions:` key; a bad packages=/wheels= is one line here,
    before anything runs."""
    from .spec import load
    targets = [t for t in plan.targets.values() if t.target.extensions is not None and not t.unsupported]
    if not targets:
        return {}
    project = load(plan.settings.targets_dir)
    chosen = sources(project, plan.settings.packages)
    wheels = extra_wheels(plan.settings.wheels)
    path = plan.settings.targets_dir / FILE
    return {t.name: ExtPlan(t, t.target.extensions, project, chosen, wheels, path) for t in targets}
