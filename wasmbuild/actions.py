"""What the tasks do. Each function is a doit python-action: it returns None on success
or a TaskFailed, and writes its outputs so that an interrupt never leaves one that
looks finished (configure's Makefile is removed before configure runs, files are
written to a temp name and renamed)."""
from __future__ import annotations

import glob
import inspect
import json
import os
import shlex
import shutil
import subprocess
import time
from functools import partial
from pathlib import Path

from doit.exceptions import TaskFailed

from . import digests, node_snapshot, pins, provision, runlog, sharing, textpatch
from .atomic import copy_file, write_text, write_text_if_changed
from .errors import WasmbuildError
from .model import SYSTEM
from .render import render_loader
from .runlog import format_seconds, run_logged, say


def task_action(name: str, log: Path, fn, /, *args, **kwargs):
    """Wrap `fn` as a doit action: fresh log, start/finish lines with elapsed time,
    user-facing errors as one message (no traceback).

    `fn` gets, besides `args` and `kwargs`, the keywords among `name` (the task's),
    `log` (its log file) and `changed` (the set of its file_dep that changed) that its
    signature names, as doit gives `changed` or `targets` to a python-action."""
    wanted = inspect.signature(fn).parameters

    def action(changed):
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(f"# {name} started {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        start = time.monotonic()
        say(f">> {name} ...")
        given = {"name": name, "log": log, "changed": set(changed)}
        try:
            result = fn(*args, **kwargs, **{k: v for k, v in given.items() if k in wanted})
        except WasmbuildError as e:
            result = TaskFailed(f"{name}: {e}\n   log: {log}")
        took = format_seconds(time.monotonic() - start)
        if isinstance(result, TaskFailed):
            say(f"!! {name} failed after {took}")
            return result
        say(f"ok {name} ({took})")
        # a dict is kept by doit as the task's values (the build report shows them)
        return result if isinstance(result, dict) else None
    action.__name__ = name.replace(":", "_").replace("-", "_")
    return action


# ---------------------------------------------------------------- configure / make

PATCHED_CONFIGURE = "configure.wasmbuild"


def configure(plan, sandbox, *, cwd: Path, argv: list[str], env: dict, log: Path, name: str,
              key_parts: list, identity: Path, setup_local=None, pinned=(), patches=(),
              site_vars=None):
    """Run configure with a config.cache keyed by everything that can change its answers
    (toolchain, the content of configure and config.site, args, env; machine paths
    normalised): from the user cache, else from the remote cache. If configure fails
    with restored answers, it runs once more without them, and nothing is uploaded."""
    cwd.mkdir(parents=True, exist_ok=True)
    notes = pin_notes(plan.source.path, pinned)
    if patches:
        write_patched_configure(plan.source.path / "configure", cwd / PATCHED_CONFIGURE, patches, name)
    if setup_local is not None:
        write_setup_local(cwd, setup_local)
    if site_vars:
        write_site_vars(cwd / SITE_VARS_FILE, site_vars)
    cache_key = plan.path_map.key([key_parts, sharing.identity_digest(identity)])
    remote = plan.remote
    with sharing.traffic(remote, notes) as traffic:
        local_cache = cwd / "config.cache"
        restored = sharing.restore_config_cache(cache_key, local_cache, plan.path_map, remote)
        failed = _run_configure(plan, sandbox, cwd, argv, env, identity, log, name)
        if failed and restored:
            say(f"   {name}: configure failed with the {restored} config.cache; once more without it")
            traffic.notes.append(f"configure failed with the {restored} config.cache; ran again without it")
            local_cache.unlink(missing_ok=True)
            failed = _run_configure(plan, sandbox, cwd, argv, env, identity, log, name)
            restored = "discarded"
        if failed:
            local_cache.unlink(missing_ok=True)           # never reuse answers of a failed run
            return failed
        if restored in ("local", "remote"):
            traffic.notes.append(f"config.cache from the {restored} cache")
        if local_cache.exists():
            # answers that failed once are not offered to other machines
            if sharing.keep_config_cache(cache_key, local_cache, plan.path_map, remote,
                                         upload=restored not in ("discarded", "remote")):
                traffic.notes.append("config.cache uploaded")
    return traffic.values() or None


def _run_configure(plan, sandbox, cwd, argv, env, identity, log, name):
    for stale in ("Makefile", "config.status"):
        (cwd / stale).unlink(missing_ok=True)        # an interrupted configure is redone
    env = {**env, **sharing.build_env(plan.source.path, identity, plan.remote, None)}
    full, env = sandbox.command([*argv, "--cache-file=config.cache"], cwd, rw=_rw(plan),
                                ro=[plan.source.path], extra_env=env)
    return run_logged(full, env=env, cwd=cwd, log=log, name=name, title=shlex.join(argv))


SITE_VARS_FILE = "config.site-wasmbuild"


def write_site_vars(dest: Path, site_vars: dict[str, str]) -> None:
    """configure.site_vars as a site script, read after the tree's config.site."""
    lines = [f"{k}={shlex.quote(v)}\n" for k, v in site_vars.items()]
    write_text(dest, "# Generated by wasmbuild from the target YAML's configure.site_vars\n" + "".join(lines))


def write_patched_configure(original: Path, dest: Path, patches, name: str) -> None:
    """configure with the YAML's edits, as an executable copy (the source is not written)."""
    text = original.read_text(encoding="utf-8")
    for i, patch in enumerate(patches):
        try:
            text = textpatch.apply(text, patch.replace, once=True, reapply=False)
        except textpatch.Mismatch as e:
            raise WasmbuildError(f"{name}: configure.patches[{i}] ({patch.why.split('.')[0][:80]}): "
                                 f"the text to replace is {e.describe()} in {original}; the patch does "
                                 f"not fit this CPython version (limit it with an overlay)") from None
    write_text(dest, text, mode=0o755)


def pin_notes(source: Path, pinned) -> list[str]:
    """A line for each toolchain version the tree pins that the toolchain in use does not
    have (`pinned`: (file, key, toolchain name, its stamp, the command whose version the
    provisioning checked) tuples)."""
    notes = []
    for rel, key, toolchain, stamp, command in pinned:
        value = pins.read(source, rel, key)
        found = ((provision.read_stamp(stamp) or {}).get("versions") or {}).get(command) or "?"
        if value is not None and (line := pins.compare(rel, key, value, found, toolchain, command)):
            say(f"note: {line}")
            notes.append(line)
    return notes


def write_setup_local(build_dir: Path, setup_local) -> None:
    """Modules/Setup.local in the build dir, for CPython versions whose YAML asks for it:
    an out-of-tree build's makesetup reads the build dir's (configure keeps one that is
    there), so the source tree is never written."""
    write_text(build_dir / "Modules" / "Setup.local", setup_local.marker + setup_local.content)


def remove_setup_local(record: Path) -> None:
    """A Setup.local that an earlier wasmbuild wrote into the source (its record says
    where), removed while it still starts with wasmbuild's marker."""
    try:
        data = json.loads(record.read_text())
    except (OSError, ValueError):
        return
    path = Path(data["path"])
    if path.exists() and path.read_text(errors="replace").startswith(data["marker"]):
        path.unlink()
    record.unlink()


def make(plan, sandbox, *, cwd: Path, argv: list[str], env: dict, log: Path, name: str,
         toolchain_stamp: Path, relink: list[Path] = (), relink_if: list[str] = (),
         sources=None, keep: list[str] = (), source_patches=(), changed: set[str],
         inputs: list[tuple[str, str, int]] = (), prelink: list[str] = (),
         eager_factory: list[str] = ()):
    source_patches = applicable_patches(sandbox, source_patches, name)
    # the files make's rules read, (path, text, mode): rewritten only when their text
    # changes, so that a rule that depends on one reruns only then
    for output, text, mode in inputs:
        write_text_if_changed(Path(output), text, mode)
    patched, repatched = write_patched_sources(plan.source.path, source_patches,
                                               cwd / PATCHED_SOURCES, name)
    changed_sources = (sources.changed if sources else None) or []
    forced = force_stale_objects(cwd, plan.source.path, [*changed_sources, *repatched], log)
    if toolchain_changed(cwd, toolchain_stamp, changed, relink) and (cwd / "Makefile").exists():
        # a different toolchain: nothing it built before may be reused
        full, e = sandbox.command(["make", "clean"], cwd, rw=_rw(plan), ro=[plan.source.path],
                                  extra_env=env)
        run_logged(full, env=e, cwd=cwd, log=log, name=name)
    if changed & set(relink_if):
        # make does not know that python links a dependency's library: relink
        for p in relink:
            p.unlink(missing_ok=True)
    started = cwd / MAKE_STARTED
    remove_unfinished_outputs(cwd, started, keep)
    started.touch()
    stats_log = cwd / sharing.STATS_LOG
    stats_log.unlink(missing_ok=True)
    env = {**env, **sharing.build_env(plan.source.path, toolchain_stamp, plan.remote, stats_log)}
    full, env = sandbox.command(argv, cwd, rw=_rw(plan), ro=[plan.source.path], extra_env=env,
                                files=patched)
    failed = run_logged(full, env=env, cwd=cwd, log=log, name=name, title=shlex.join(argv))
    if failed:
        return failed
    started.unlink()
    write_text_if_changed(cwd / TOOLCHAIN_BUILT_WITH, _identity_digest(toolchain_stamp))
    prelink_modules([cwd / m for m in prelink], log, "make.prelink")
    eager_factories([cwd / m for m in eager_factory], log, "make.eager_factory")
    # (ccache's own remote traffic is in its stats log; wasmbuild's client is not used here)
    traffic = sharing.Traffic()
    if line := sharing.describe_ccache(sharing.ccache_counts(stats_log)):
        traffic.notes.append(line)
    return {**traffic.values(), **({"forced": forced} if forced else {})} or None


# The toolchain a build dir's objects were made with (the digest of its identity file),
# written after each make that succeeded.
TOOLCHAIN_BUILT_WITH = ".wasmbuild-toolchain"


def _identity_digest(identity: Path) -> str:
    return digests.hash_file(identity, "sha256") if identity.exists() else ""


def toolchain_changed(cwd: Path, identity: Path, changed: set[str], artifacts) -> bool:
    """Whether the build dir's objects were made by another toolchain than `identity`'s.
    By the build dir's own record; without one (a build dir older than it), by doit's list
    of changed inputs, unless an artifact is missing: doit then names every input as
    changed, and a deleted python.wasm is not a new toolchain (it made `make clean`
    rebuild everything and empty the web folder)."""
    record = cwd / TOOLCHAIN_BUILT_WITH
    if record.exists():
        return record.read_text().strip() != _identity_digest(identity)
    return str(identity) in changed and all(Path(a).exists() for a in artifacts)


def _require_linked(path: Path, label: str, kind: str):
    """A file a YAML list (`label`) names for after the link: it must be one the link wrote."""
    if not path.is_file():
        raise WasmbuildError(f"{label}: {path} was not linked: name {kind} the link writes, "
                             f"or remove it from {label}")


def prelink_modules(modules: list[Path], log: Path, label: str):
    """Each module's static data relocations applied (artifacts/datarelocs.py), with the
    loader beside it (X.js or X.mjs): one line each in the log, and on the terminal where
    it changed the module."""
    from .artifacts import datarelocs
    for module in modules:
        _require_linked(module, label, "a wasm module")
        loader = next((module.with_suffix(s) for s in (".js", ".mjs") if module.with_suffix(s).exists()), None)
        if loader is None:
            line = f"{module.name}: data relocations left to start-up: no {module.stem}.js or .mjs beside it"
        else:
            r = datarelocs.prelink(module, loader)
            if r.why_not:
                line = f"{module.name}: data relocations left to start-up: {r.why_not}"
            elif r.applied:
                line = (f"{module.name}: {r.applied:,} data relocations applied at build time, "
                        f"{r.kept:,} left to start-up ({r.saved / 1e6:.2f} MB less)")
                say(f"   {line}")
            else:
                line = f"{module.name}: data relocations applied before"
        with open(log, "a") as f:
            f.write(line + "\n")


def eager_factories(loaders: list[Path], log: Path, label: str):
    """Each ES module factory rewritten to be compiled with its module's top level
    (artifacts/jsfactory.py): one line each in the log."""
    from .artifacts import jsfactory
    for loader in loaders:
        _require_linked(loader, label, "a JS file")
        with open(log, "a") as f:
            f.write(jsfactory.eager_factory(loader) + "\n")


PATCHED_SOURCES = ".wasmbuild-patched"


def applicable_patches(sandbox, patches, name: str) -> list:
    """The source patches this provider can show make. provider=system has no mount
    namespace: an optional patch is left out, in one line; any other one is refused
    (by Sandbox.command)."""
    if sandbox.provider != SYSTEM:
        return list(patches)
    for p in patches:
        if p.optional:
            say(f"   {name}: without the source patch of {p.file} (provider=system cannot "
                f"show a patched copy): {' '.join(p.why.split())}")
    return [p for p in patches if not p.optional]


def write_patched_sources(source: Path, patches, dest: Path, name: str):
    """The YAML's source patches as edited copies under `dest` (the build dir's), each
    rewritten only when its text changes. Returns the (copy, original) pairs that make's
    namespace binds, and the source files whose patched text is not what the last make
    compiled (a patch added, changed or removed, or the original edited): the objects
    built from them are rebuilt (by their dependency files), whatever the mtimes say."""
    index_path = dest / "index.json"
    try:
        before = json.loads(index_path.read_text())
    except (OSError, ValueError):
        before = {}
    now, pairs = {}, []
    for i, patch in enumerate(patches):
        original = source / patch.file
        try:
            text = original.read_text(encoding="utf-8")
            text = textpatch.apply(text, patch.replace, once=True, reapply=False)
        except OSError as e:
            raise WasmbuildError(f"{name}: source_patches[{i}]: cannot read {original}: {e.strerror}") from None
        except textpatch.Mismatch as e:
            raise WasmbuildError(f"{name}: source_patches[{i}] ({patch.file}): the text to replace is "
                                 f"{e.describe()}; the patch does not fit this CPython version "
                                 f"(limit it with an overlay)") from None
        copy = dest / patch.file
        text_digest = digests.digest(text)
        if before.get(patch.file) != text_digest or not copy.exists():
            write_text(copy, text)
        now[patch.file] = text_digest
        pairs.append((copy, original))
    repatched = sorted(f for f in set(before) | set(now) if before.get(f) != now.get(f))
    if now or before:
        write_text(index_path, json.dumps(now, indent=1, sort_keys=True))
    return pairs, repatched


def force_stale_objects(cwd: Path, source: Path, changed_sources: list[str] | None,
                        log: Path) -> list[str]:
    """CPython's Makefile lists only some headers (not Objects/clinic/*.h, for one): the
    objects whose compiler-written dependency files name a changed source file are
    removed, so that make rebuilds them. Lines for the build report."""
    from . import depfiles   # imported when used: a no-op needs none of them
    if not changed_sources or not (cwd / "Makefile").exists():
        return []
    graph = depfiles.load(cwd, source)
    lines = depfiles.force(depfiles.stale(graph, changed_sources), cwd)
    with open(log, "a") as f:
        f.write("".join(f"forced: {line}\n" for line in lines))
        if graph.without_depfiles:
            f.write(f"no dependency data for {graph.without_depfiles} objects (compiled before "
                    f"-MMD was used): make's own prerequisites decide for those\n")
    if graph.without_depfiles:
        say(f"   {cwd.name}: no dependency data for {graph.without_depfiles} objects yet: an edited "
            f"header that the Makefile does not list may not reach them until they are recompiled")
    for line in lines[:10]:
        say(f"   rebuild {line}")
    if len(lines) > 10:
        say(f"   ... and {len(lines) - 10} more objects (see {log})")
    return lines


MAKE_STARTED = ".wasmbuild-make-started"
BUILD_OUTPUT_SUFFIXES = (".o", ".a", ".so", ".wasm", ".js", ".mjs", ".lo")


def remove_unfinished_outputs(cwd: Path, started: Path, keep=()) -> list[Path]:
    """A make that was killed (SIGKILL, power loss) may leave a truncated object whose
    mtime tells make it is up to date. If the last make here did not finish, remove
    every build output written since it started: make (and ccache) redo just those.
    `keep`: files other tasks write into the same folder (the loaders: node_entry.mjs),
    always whole (written to a temporary name and renamed), and not make's to redo."""
    if not started.exists():
        return []
    since = started.stat().st_mtime_ns
    keep = {str(k) for k in keep}
    removed = []
    for root, _dirs, files in os.walk(cwd):
        for f in files:
            if f.endswith(BUILD_OUTPUT_SUFFIXES) and os.path.join(root, f) not in keep:
                p = Path(root) / f
                try:
                    # lstat: a symlink make made (build/lib.*/x.so -> Modules/x.so) is judged by
                    # its own time, and stays judgeable once its target is removed
                    if p.lstat().st_mtime_ns >= since:
                        p.unlink()
                        removed.append(p)
                except FileNotFoundError:
                    pass
    return removed


def _rw(plan) -> list[Path]:
    plan.cross_build.mkdir(parents=True, exist_ok=True)
    # a remote cache on a Unix socket: its folder, so that ccache inside can connect
    socket = plan.remote.socket_path if plan.remote and not plan.remote.down else None
    return [plan.cross_build, *([Path(socket).parent] if socket else [])]


def build_dependency(plan, tp, dp, *, prefix: Path, log: Path, name: str):
    """Unpack the verified tarball into a fresh folder and run the YAML steps there; or,
    with a remote cache, restore what those steps wrote into the prefix on a machine
    with the same toolchain, and offer it after building."""
    dep = dp.dep
    shutil.rmtree(dp.src, ignore_errors=True)
    dp.src.mkdir(parents=True)
    for out in dep.outputs:
        Path(out).unlink(missing_ok=True)
    remote = plan.remote
    with sharing.traffic(remote) as traffic:
        failed = _build_or_restore(plan, tp, dp, prefix, remote, traffic, log, name)
    return failed or traffic.values() or None


def _build_or_restore(plan, tp, dp, prefix: Path, remote, traffic, log: Path, name: str):
    from . import fetch   # imported when used: a no-op needs none of them
    dep = dp.dep
    # only a product inside the prefix is shared (the ports' is the toolchain's own cache)
    key = None
    if remote is not None and dep.outputs and all(Path(o).is_relative_to(prefix) for o in dep.outputs):
        key = plan.path_map.key([dep, sharing.identity_digest(tp.identity)])
        if (restored := _restore_product(remote, key, prefix, dep, plan.path_map, name)) is not None:
            traffic.notes.append(f"{restored} files of its prefix from the remote cache")
            return None
    prefix.mkdir(parents=True, exist_ok=True)
    prefix_before = sharing.snapshot(prefix) if key else {}
    if dep.download:
        fetch.unpack(dep.download, dp.src)
    stats_log = dp.src / sharing.STATS_LOG
    env = sharing.build_env(plan.source.path, tp.identity, remote, stats_log)
    failed = run_steps(plan, tp, dep.steps, log=log, name=name, label="steps", extra_env=env)
    if failed:
        return failed
    missing = [o for o in dep.outputs if not Path(o).exists()]
    if missing:
        return TaskFailed(f"{name}: the steps ran but did not produce {', '.join(missing)}")
    if line := sharing.describe_ccache(sharing.ccache_counts(stats_log)):
        traffic.notes.append(line)
    if key:
        after = sharing.snapshot(prefix)
        written = [rel for rel, sig in after.items() if prefix_before.get(rel) != sig]
        if remote.put(sharing.PRODUCT, key, sharing.pack(prefix, written, plan.path_map)):
            traffic.notes.append(f"{len(written)} files of its prefix uploaded")
    return None


def _restore_product(remote, key, prefix: Path, dep, path_map, name: str) -> int | None:
    """The number of files restored, or None (a miss, or an entry that does not unpack:
    then the dependency is built here)."""
    import tarfile
    blob = remote.get(sharing.PRODUCT, key)
    if blob is None:
        return None
    try:
        written = sharing.unpack(blob, prefix, path_map)
    except (tarfile.TarError, ValueError, OSError, EOFError) as e:
        say(f"warning: {name}: the remote cache's product does not unpack ({e}); building it here")
        return None
    if not all(Path(o).exists() for o in dep.outputs):
        say(f"warning: {name}: the remote cache's product lacks an output; building it here")
        return None
    return len(written)


def run_steps(plan, tp, steps, *, log: Path, name: str, label: str, extra_env: dict | None = None):
    """The shell steps a YAML file declares, each in the toolchain's sandbox; the first
    failure stops them (and is returned)."""
    for i, step in enumerate(steps):
        cwd = Path(step.cwd)
        cwd.mkdir(parents=True, exist_ok=True)
        full, env = tp.sandbox.command(["bash", "-euo", "pipefail", "-c", step.run], cwd,
                                       rw=_rw(plan), ro=[plan.source.path],
                                       extra_env={**(extra_env or {}), **step.env})
        failed = run_logged(full, env=env, cwd=cwd, log=log, name=name,
                            title=f"{label}[{i}]: {step.run.strip()}")
        if failed:
            return failed
    return None


# ---------------------------------------------------------------- stdlib zip

def run_build_python(plan, args: list[str], *, log: Path, name: str):
    """The build Python with `args`, in the native toolchain's sandbox, its output in `log`."""
    argv, env = plan.native.sandbox.command([str(plan.build_python), *args], plan.build_python_dir,
                                            rw=[plan.cross_build], ro=[plan.source.path])
    return run_logged(argv, env=env, cwd=plan.build_python_dir, log=log, name=name)


def make_stdlib_zip(plan, spec, *, lib_tree, bytecode_tree, build_dir: Path, staging: Path,
                    dest: Path, log: Path, name: str):
    """Compile what changed of Lib/ with the build Python into `staging`, then write the zip."""
    from . import stdlib_zip   # imported when used: a no-op needs none of them
    staging.mkdir(parents=True, exist_ok=True)
    result = stdlib_zip.build_zip(lib_tree=lib_tree, build_dir=build_dir, staging=staging,
                                  dest=dest, spec=spec,
                                  run_build_python=partial(run_build_python, plan, log=log, name=name),
                                  bytecode=bytecode_tree.digest())
    if isinstance(result, dict):
        with open(log, "a") as f:
            f.write(f"{result}\n")
        return None
    return result


# ---------------------------------------------------------------- loaders

def render_loaders(templates_dir: Path, loaders, variables: dict):
    for loader in loaders:
        text = render_loader(templates_dir, loader, variables)
        write_text(Path(loader.output), text, 0o755 if loader.executable else 0o644)


def build_node_snapshot(plan, tp, runner: list[str], snapshot, *, log: Path, name: str):
    """The target's Node start-up snapshot, built beside its final name and then renamed:
    python.sh never loads half a snapshot (an interrupted build, a full disk)."""
    blob = Path(snapshot.blob)
    partial_blob = blob.with_name(blob.name + ".partial")
    argv = node_snapshot.build_command(runner, snapshot, str(partial_blob))
    full, env = tp.sandbox.command(argv, blob.parent, rw=_rw(plan), ro=[plan.source.path])
    failed = run_logged(full, env=env, cwd=blob.parent, log=log, name=name)
    if failed:
        partial_blob.unlink(missing_ok=True)
        return failed
    if not partial_blob.is_file():
        return TaskFailed(f"{name}: node ended without error but wrote no snapshot "
                          f"({partial_blob}); see {log}")
    os.replace(partial_blob, blob)
    return None


# ---------------------------------------------------------------- package

def make_package(plan, tgt, spec, variables: dict, *, staging: Path, dest: Path, log: Path, name: str,
                 debug_dest: Path | None = None, site_record: Path | None = None):
    """The package folder, then its tarball; the sha256 goes in the report. `site_record`:
    what site:<target> installed (its folder and files), packaged as the interpreter's
    lib/pythonX.Y/site-packages."""
    from . import package   # imported when used: a no-op needs none of them
    t = tgt.target
    identity = tgt.toolchain.identity
    info = {"cpython": plan.source.version, "target": t.name, "triple": t.triple,
            "toolchain": {"name": tgt.toolchain.toolchain.name,
                          "identity": sharing.identity_digest(identity),
                          "packages": json.loads(identity.read_text()).get("packages")
                          if identity.exists() else None},
            "configure": [package.neutral_paths(a, plan.path_map) for a in t.configure.args],
            "source_date_epoch": int(sharing.source_date_epoch(plan.source.path))}
    top, debug_top = package.assemble(
        spec=spec, build_dir=tgt.build_dir, zip_path=tgt.build_dir / t.stdlib_zip.name,
        source=plan.source.path, major_minor=plan.source.major_minor,
        templates_dir=plan.settings.templates_dir, variables=variables, info=info,
        path_map=plan.path_map, staging=staging, site=_installed_site(site_record, t.name))
    digest = package.tarball(top, dest, info["source_date_epoch"])
    say(f"   {dest} ({dest.stat().st_size / 1e6:.1f} MB) sha256 {digest}")
    notes = [f"{dest.name} sha256 {digest[:16]}..."]
    if debug_top:
        debug_digest = package.tarball(debug_top, debug_dest, info["source_date_epoch"])
        say(f"   {debug_dest} ({debug_dest.stat().st_size / 1e6:.1f} MB, the debug info) sha256 {debug_digest}")
        notes.append(f"{debug_dest.name} sha256 {debug_digest[:16]}...")
    return {"notes": notes, "sha256": digest}


def _installed_site(record: Path | None, target: str):
    """(folder, files) of the last site:<target>, or None if it never ran."""
    from .extensions.site import installed, missing_files
    data = installed(record) if record else {}
    if not data:
        return None
    if missing := missing_files(data):
        raise WasmbuildError(f"{data['site_packages']}: {len(missing)} of the {len(data['files'])} files that "
                             f"site:{target} installed are gone (e.g. {missing[0]}): run `doit site:{target}` "
                             f"again, or delete {record} to package no wheels")
    return Path(data["site_packages"]), data["files"]


# ---------------------------------------------------------------- web example

def assemble_web(plan, tp, web, zip_path: Path, templates_dir: Path, variables: dict,
                 compress_state: Path, *, log: Path, name: str, make_env: dict | None = None):
    """The web folder: the steps' module, the zip, the page's loaders, the registry
    assets the page loads, then X.zst, X.br and X.gz beside what `web.compress` names. The steps
    get make's environment (a profile's EMCC_CFLAGS): they link as make links."""
    from .web import assets, compress, stdlib_files   # imported when used: a no-op needs none
    dest = Path(web.dir)
    dest.mkdir(parents=True, exist_ok=True)
    failed = run_steps(plan, tp, web.steps, log=log, name=name, label="web.steps", extra_env=make_env)
    if failed:
        return failed
    prelink_modules([Path(m) for m in web.prelink], log, "web.prelink")
    for f in web.files:
        found = web_files_matching(f)
        for path in found:
            copy_file(path, dest / path.name)
        remove_unmatched(dest, f, found)
    if web.store_zip:
        compress.stored_zip_copy(zip_path, dest / zip_path.name)
    else:
        copy_file(zip_path, dest / zip_path.name)
    if web.stdlib_files:
        folder = dest / web.stdlib_files
        listing = stdlib_files.write_stdlib_files(zip_path, folder, web.stdlib_preload)
        # the worker's script holds the listing and the start's modules (stdlib_files.py)
        variables = dict(variables, stdlib=stdlib_files.embedded(folder, listing, web.stdlib_preload))
    render_loaders(templates_dir, web.loaders, variables)
    written = assets.install(web.assets, dest)
    start = time.monotonic()
    rows = compress.compress_folder(dest, web.compress, compress_state)
    lines = compress.table(rows)
    with open(log, "a") as f:
        f.write(f"web.assets: {', '.join(written) or 'none'}\n")
        f.write(f"compressed in {format_seconds(time.monotonic() - start)}:\n  "
                + "\n  ".join(lines) + "\n")
    for line in lines:
        if line.startswith(("python.wasm", "python.mjs", "python.js")):
            say(f"   {line}")
    return None


def web_files_matching(entry: str) -> list[Path]:
    """A `web.files` entry's files: the file itself, or those its pattern (a glob in the
    last part: the side modules) matches once the steps ran, at least one."""
    if not glob.has_magic(entry):
        return [Path(entry)]
    found = sorted(Path(p) for p in glob.glob(entry))
    if not found:
        raise WasmbuildError(f"web.files: {entry} matched no file after web.steps: check the "
                             f"steps' output names against the pattern in the target's YAML")
    return found


def remove_unmatched(dest: Path, entry: str, found: list[Path]) -> None:
    """What a `web.files` pattern copied into `dest` before and no longer matches (a side
    module taken out of the YAML) leaves the folder: it would be shipped, and served, for
    nothing (compress_folder then removes its compressed siblings)."""
    if not glob.has_magic(entry):
        return
    names = {p.name for p in found}
    for old in dest.glob(Path(entry).name):
        if old.name not in names:
            old.unlink()


def serve_web(web_dir):
    from .web.serve import main
    return None if main([str(web_dir)]) in (0, None) else TaskFailed("server failed")


# ---------------------------------------------------------------- using the interpreter

def run_interpreter(python_sh: str, args=()):
    """`doit run:<target> -- ARGS`: the interpreter in the foreground, its exit status kept.
    Ctrl-C belongs to it (a KeyboardInterrupt in its REPL), as in a shell."""
    with runlog.foreground():
        rc = subprocess.call([python_sh, *args])
    return None if rc == 0 else TaskFailed(f"{python_sh} exited with status {rc}")


def run_tests(run, smoke: list[str], expect: str, modules: str | None, source: Path, *,
              log: Path, name: str):
    """Smoke check, then the suite (or the `modules=` subset) judged by the manifest."""
    from . import manifest, suite, suite_report   # imported when used: a no-op needs none of them
    if run.tree is not None:
        copied, removed = suite.sync_tree(source, run.tree)
        with open(log, "a") as f:
            f.write(f"test tree {run.tree}: {copied} files copied, {removed} removed\n")
    out = subprocess.run([str(run.python_sh), *smoke], capture_output=True, text=True,
                         cwd=run.cwd, env=run.env())
    with open(log, "a") as f:
        f.write(f"$ python.sh {shlex.join(smoke)}\n{out.stdout}{out.stderr}[exit {out.returncode}]\n")
    if out.returncode != 0 or expect not in out.stdout:
        return TaskFailed(f"{name}: smoke check failed (exit {out.returncode}): expected "
                          f"{expect!r}, got {(out.stdout + out.stderr).strip()[-500:]!r}")
    say(f"   smoke: {out.stdout.strip()}")
    listed = suite.list_modules(run, log)
    for problem in manifest.check_manifest(listed, run.tests, run.yaml):
        say(f"   warning: {problem}")
    chosen = manifest.select(listed, run.tests, modules, run.yaml)
    say(f"   {len(chosen)} of {len(listed)} test modules, {run.jobs} at a time "
        f"(timeout {run.tests.timeout} s each); logs in {run.out_dir / 'logs'}")
    start = time.monotonic()
    results = suite.run_suite(run, chosen)
    wall = time.monotonic() - start
    summary = manifest.summarize(results)
    suite_report.write(run.out_dir, name, results, summary, wall)
    lines = suite_report.table(summary, len(results), wall)
    with open(log, "a") as f:
        f.write("\n".join(lines) + "\n")
    say("   " + "\n   ".join(lines))
    if not summary.ok:
        return TaskFailed(f"{name}: {len(summary.unexpected)} unexpected result(s): "
                          f"{'; '.join(summary.unexpected[:5])}\n   results: {run.out_dir / 'results.json'}")
    return {"suite": lines}
