"""The browser example's tasks: web:<target> assembles it, serve:<target> serves it."""
from __future__ import annotations

import glob
from pathlib import Path

from . import actions
from .digests import digest
from .render import loader_inputs
from .plan import Plan, TargetPlan
from .tasks_common import _rmtree, action, config_changed


def web_tasks(plan: Plan, tgt: TargetPlan):
    t = tgt.target
    if tgt.unsupported or t.web is None:
        return
    web = Path(t.web.dir)
    zip_path = tgt.build_dir / t.stdlib_zip.name
    name = f"web:{t.name}"
    variables = dict(tgt.context, stdlib_zip=t.stdlib_zip.name, stdlib_files=t.web.stdlib_files)
    listing = [web / f"{t.web.stdlib_files}.json"] if t.web.stdlib_files else []
    # (a pattern of web.files, the side modules, names no target: its files are known once
    # the steps ran; the folder is removed whole on clean)
    outputs = [web / Path(f).name for f in t.web.files if not glob.has_magic(f)] \
        + [web / t.stdlib_zip.name] + listing \
        + [Path(l.output) for l in t.web.loaders] \
        + [web / n for a in t.web.assets for n in a.files.values()]
    # what was compressed from which bytes (web/compress.py): kept beside the folder, not in it
    compress_state = tgt.build_dir / ".wasmbuild-web-compressed.json"
    yield {
        "basename": "web", "name": t.name,
        "doc": f"the browser example in {web}: page, worker, module, wasm, stdlib zip",
        "actions": [action(plan, name, actions.assemble_web, plan, tgt.toolchain, t.web, zip_path,
                           plan.settings.templates_dir, variables, compress_state, make_env=t.make.env)],
        "file_dep": [str(tgt.build_dir / a) for a in t.artifacts] + [str(zip_path)]
                    + loader_inputs(plan.settings.templates_dir, t.web.loaders),
        "task_dep": [f"host:{t.name}"] + [f"fetch:{a.download.file}" for a in t.web.assets],
        "uptodate": [config_changed(digest([t.web, variables, *([t.make.env] if t.make.env else [])]))],
        "targets": [str(o) for o in outputs],
        "clean": [(_rmtree, [web])],
    }
    yield {
        "basename": "serve", "name": t.name,
        "doc": "serve the browser example on http://127.0.0.1:8000/python.html (Ctrl-C stops)",
        "actions": [(actions.serve_web, [web])],
        "task_dep": [name], "uptodate": [False], "verbosity": 2,
    }
