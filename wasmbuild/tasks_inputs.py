"""Tasks for what a build needs before it starts: the toolchains, the CPython source and
the dependencies' downloads (toolchain:*, source:cpython, fetch:*)."""
from __future__ import annotations

from . import fetch, provision, source
from .plan import Plan
from .tasks_common import action, config_changed


def toolchain_tasks(plan: Plan):
    yield {"basename": "toolchain", "name": None,
           "doc": "provision a toolchain (Debian root via debootstrap, or check the system one)"}
    for tp in plan.toolchains.values():
        yield {
            "basename": "toolchain", "name": tp.toolchain.name,
            "doc": f"{tp.toolchain.description} [{tp.provider}]",
            "actions": [action(plan, tp.task, provision.provision_toolchain, tp)],
            "uptodate": [provision.stamp_matches(tp)],
            "targets": [str(tp.stamp), str(tp.identity)],
            "verbosity": 2,
        }


def source_tasks(plan: Plan):
    if plan.source.default:
        dl = plan.project.cpython
        yield {
            "basename": "source", "name": "cpython",
            "doc": f"fetch and unpack the default CPython source ({plan.source.version})",
            "actions": [action(plan, "source:cpython", source.unpack_release, dl, plan.source.path)],
            "targets": [str(plan.source.path / "configure")],
            "uptodate": [lambda dl=dl: source.is_unpacked(dl, plan.source.path)],
        }
    else:
        yield {"basename": "source", "name": None,
               "doc": f"CPython source: {plan.source.path} ({plan.source.version})",
               "actions": None}
    seen = set()
    yield {"basename": "fetch", "name": None,
           "doc": "download dependency sources into the cache (sha256-verified)"}
    for tgt in plan.targets.values():
        # the dependencies' sources, and the registry packages the web page loads
        web_assets = tgt.target.web.assets if tgt.target.web else []
        for dl in [dp.dep.download for dp in tgt.deps] + [a.download for a in web_assets]:
            if dl is None or dl.file in seen:
                continue
            seen.add(dl.file)
            yield {
                "basename": "fetch", "name": dl.file, "doc": f"download {dl.file}",
                "actions": [action(plan, f"fetch:{dl.file}", fetch.fetch, dl)],
                "targets": [str(fetch.cached_path(dl))],
                "uptodate": [config_changed(dl.sha256)],
            }
