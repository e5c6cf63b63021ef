"""Jinja rendering, strict: an undefined variable is an error naming file and key.

Two uses: expanding `{{ ... }}` inside YAML values once the paths are known, and
rendering the loader templates (python.sh, node_entry.mjs, the web page).
"""
from __future__ import annotations

import dataclasses
import functools
import re
import shlex
from pathlib import Path

from .errors import ConfigError
from .schema import yaml_key


def _environment(loader=None):
    # jinja2 is imported here: a no-op build expands only simple names (below) and
    # renders no template, and importing jinja2 is a tenth of its time.
    import jinja2
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, loader=loader,
                             keep_trailing_newline=True, autoescape=False)
    env.filters["shquote"] = lambda v: shlex.quote(str(v))
    env.filters["shjoin"] = lambda v: " ".join(_shell_word(str(x)) for x in v)
    return env


def _shell_word(word: str) -> str:
    """Quote for sh; `@CWD@` becomes the caller's "$PWD" and `@HOST_DIRS@` the words of
    python.sh's host_dirs (used by runner commands)."""
    if word == "@HOST_DIRS@":
        return '"${host_dirs[@]}"'
    if "@CWD@" in word:
        return '"' + word.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$") \
            .replace("`", "\\`").replace("@CWD@", "$PWD") + '"'
    return shlex.quote(word)


@functools.cache
def _strings():
    return _environment()
# `{{ name }}` or `{{ deps.libffi.prefix }}`: what almost every YAML string holds. Jinja
# compiles each string to Python first (2-3 ms each, a fifth of a no-op build); these are
# looked up directly, and anything else (filters, expressions, an undefined name, for its
# error message) goes to Jinja.
_SIMPLE = re.compile(r"\{\{\s*([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)\s*\}\}")


def _lookup(context: dict, dotted: str):
    value = context
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            raise KeyError(dotted)
        value = value[part]
    return value


def _expand_simple(text: str, context: dict) -> str | None:
    """`text` with its simple expressions substituted, or None if Jinja must render it."""
    if "{%" in text or "{#" in text:
        return None
    try:
        out = _SIMPLE.sub(lambda m: str(_lookup(context, m.group(1))), text)
    except KeyError:
        return None
    return None if "{{" in _SIMPLE.sub("", text) else out


def expand(obj, context: dict, file, path: str = ""):
    """Return `obj` (dataclass, list, dict or str) with every string rendered."""
    if isinstance(obj, str):
        if "{{" not in obj and "{%" not in obj:
            return obj
        fast = _expand_simple(obj, context)
        if fast is not None:
            return fast
        import jinja2
        try:
            return _strings().from_string(obj).render(context)
        except jinja2.UndefinedError as e:
            raise ConfigError(file, path, f"{e.message} (known variables: "
                                          f"{', '.join(sorted(context))})") from None
        except jinja2.TemplateSyntaxError as e:
            raise ConfigError(file, path, f"bad template expression: {e.message}") from None
    if isinstance(obj, list):
        return [expand(v, context, file, f"{path}[{i}]") for i, v in enumerate(obj)]
    if isinstance(obj, dict):
        return {k: expand(v, context, file, f"{path}.{k}" if path else k) for k, v in obj.items()}
    if dataclasses.is_dataclass(obj):
        changes = {}
        for f in dataclasses.fields(obj):
            sub = f"{path}.{yaml_key(f)}" if path else yaml_key(f)
            changes[f.name] = expand(getattr(obj, f.name), context, file, sub)
        return dataclasses.replace(obj, **changes)
    return obj


def render_template(templates_dir: Path, name: str, variables: dict) -> str:
    """Render templates/<name>; an undefined variable names the template and the variable."""
    import jinja2
    env = _environment(jinja2.FileSystemLoader(str(templates_dir)))
    try:
        return env.get_template(name).render(variables)
    except jinja2.UndefinedError as e:
        raise ConfigError(templates_dir / name, "template", e.message) from None
    except jinja2.TemplateSyntaxError as e:
        raise ConfigError(templates_dir / name, f"line {e.lineno}", e.message) from None


def loader_input(templates_dir: Path, loader) -> str:
    """The file a loader is made from: its template, or the file it copies."""
    return loader.copy or str(templates_dir / loader.template)


def render_loader(templates_dir: Path, loader, variables: dict) -> str:
    """A loader's text: its template rendered with `variables` and its own, or the file it
    copies, as it is."""
    if loader.copy:
        try:
            return Path(loader.copy).read_text(encoding="utf-8")
        except OSError as e:
            raise ConfigError(Path(loader.copy), "copy", f"cannot read the file a loader copies: "
                                                         f"{e.strerror}") from None
    return render_template(templates_dir, loader.template, dict(variables, **loader.vars))




_INCLUDE = re.compile(r"""{%-?\s*include\s+["']([^"']+)["']""")


@functools.lru_cache(maxsize=None)
def _included(templates_dir: Path, name: str) -> tuple[str, ...]:
    """The templates `name` includes, theirs too (a literal name: the only kind used)."""
    try:
        text = (templates_dir / name).read_text(encoding="utf-8")
    except OSError:
        return ()      # a missing template is config.check_references' error
    out = []
    for inc in _INCLUDE.findall(text):
        out += [str(templates_dir / inc), *_included(templates_dir, inc)]
    return tuple(dict.fromkeys(out))


def loader_inputs(templates_dir: Path, loaders) -> list[str]:
    """The files loaders are made from: each one's template (and the templates it
    {% include %}s, which are no loader's own) or the file it copies."""
    out = []
    for l in loaders:
        out += [loader_input(templates_dir, l),
                *(_included(templates_dir, l.template) if l.template else ())]
    return list(dict.fromkeys(out))
