"""package:<target>: the reproducible, relocatable tarball of a built interpreter."""
from __future__ import annotations

from . import actions
from .digests import digest
from .render import loader_inputs
from .plan import Plan, TargetPlan
from .tasks_common import _rmtree, action, config_changed
from .extensions.layout import site_record_path


def package_tasks(plan: Plan, tgt: TargetPlan):
    t = tgt.target
    if tgt.unsupported or t.package is None:
        return
    spec = t.package
    dest = plan.cross_build / "packages" / f"{spec.name}.tar.gz"
    # the debug files (spec.debug), beside it: unpacked over the package, each lands
    # beside the module that names it
    debug_dest = dest.with_name(f"{spec.name}-debug.tar.gz") if spec.debug else None
    staging = plan.state_dir / "package" / t.name
    zip_path = tgt.build_dir / t.stdlib_zip.name
    variables = dict(tgt.context, stdlib_zip=t.stdlib_zip.name)
    # the wheels site:<target> installed, if it ran: packaged as the interpreter's site-packages
    ext = t.extensions
    site_record = site_record_path(tgt) if ext and not ext.unsupported else None
    site = site_record.read_text() if site_record and site_record.is_file() else ""
    yield {
        "basename": "package", "name": t.name,
        "doc": f"{dest.name}: interpreter, loaders, stdlib zip, LICENSE, build-info.json, SHA256SUMS",
        "actions": [action(plan, f"package:{t.name}", actions.make_package, plan, tgt, spec,
                           variables, staging=staging, dest=dest, debug_dest=debug_dest,
                           site_record=site_record)],
        "file_dep": [str(tgt.build_dir / f) for f in spec.files] + [str(zip_path), str(tgt.toolchain.identity)]
                    + loader_inputs(plan.settings.templates_dir, spec.loaders),
        "task_dep": [f"host:{t.name}"],
        "uptodate": [config_changed(digest([spec, variables, site]))],
        "targets": [str(dest), *([str(debug_dest)] if debug_dest else [])],
        "clean": [(_rmtree, [staging])],
    }
