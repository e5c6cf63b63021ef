"""Which wheels a built interpreter can load, decided from the interpreter's own answers
(its sysconfig, its Emscripten version, its extension suffixes: `crossenv.PROBE`), never
from what a build intended.

A wheel's platform tag is the interpreter's `sysconfig.get_platform()` (e.g.
emscripten_6_0_5_wasm32): Emscripten gives no ABI stability between versions, so the
version is part of it. PEP 783's pyemscripten_<year>_<patch> is claimed only when every
pin of that platform (`_extensions.yaml: pyemscripten`) holds for the interpreter.
"""
from __future__ import annotations

import re
import shlex

from ..errors import WasmbuildError


def platform_tag(platform: str) -> str:
    """sysconfig.get_platform() as a wheel's platform tag (as packaging and setuptools
    spell it): emscripten-3.1.69-wasm32 -> emscripten_3_1_69_wasm32."""
    return re.sub(r"[^\w]", "_", platform)


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", text))


def link_flags(facts: dict) -> set[str]:
    """The settings the interpreter was compiled and linked with, as single words
    (`-sWASM_BIGINT`, `-pthread`, `-lffi`), from its sysconfig's flag variables."""
    words: set[str] = set()
    for text in facts.get("flags", {}).values():
        words.update(shlex.split(text or ""))
    return words


def _has(flag: str, flags: set[str], emscripten: str | None, defaults: dict[str, str]) -> bool:
    """Whether the interpreter has `flag`: given, or Emscripten's default from a version on
    (`-sWASM_BIGINT` since 4.0.0). `-sX` equals `-sX=1` and `-s X`."""
    spelled = {flag, flag + "=1"} if "=" not in flag else {flag}
    if spelled & flags:
        return True
    since = defaults.get(flag)
    off = flag + "=0" in flags
    return bool(since and emscripten and not off and _version(emscripten) >= _version(since))


def pyemscripten_claims(facts: dict, platforms: dict, defaults: dict[str, str]) -> tuple[list[str], list[str]]:
    """(the PEP 783 platforms this interpreter meets, one note per platform it does not
    meet saying which pins fail). Only a platform for the interpreter's own Python
    version is considered at all."""
    claimed, notes = [], []
    version = ".".join(str(v) for v in facts["version"][:2])
    emscripten = facts.get("emscripten")
    flags = link_flags(facts)
    for name, spec in platforms.items():
        if spec.python != version:
            continue
        misses = []
        if emscripten != spec.emscripten:
            misses.append(f"Emscripten {emscripten or 'none'} (it pins {spec.emscripten})")
        missing = [f for f in spec.flags if not _has(f, flags, emscripten, defaults)]
        if missing:
            misses.append(f"linked without {' '.join(missing)}")
        present = sorted(f for f in spec.forbidden if f in flags)
        if present:
            misses.append(f"linked with {' '.join(present)}")
        libs = [lib for lib, spellings in spec.libraries.items() if not set(spellings) & flags]
        if libs:
            misses.append(f"does not link {', '.join(libs)}")
        if misses:
            notes.append(f"pyemscripten_{name}_wasm32 not claimed: " + "; ".join(misses))
        else:
            claimed.append(name)
    return claimed, notes


def interpreter_tags(facts: dict, claimed: list[str] = ()) -> list[str]:
    """Every tag the interpreter accepts, most specific first (as packaging's sys_tags
    would list them inside the interpreter, with its platform tags: the pyemscripten ones
    it meets, then its own get_platform()). abi3 only if it loads `.abi3.so` files."""
    from packaging import tags
    version = tuple(facts["version"][:2])
    interpreter = f"cp{version[0]}{version[1]}"
    platforms = [f"pyemscripten_{c}_wasm32" for c in claimed] + [platform_tag(facts["platform"])]
    abi3 = ".abi3.so" in facts.get("extension_suffixes", [])
    out = []
    for tag in tags.cpython_tags(version, [interpreter], platforms):
        if tag.abi == "abi3" and not abi3:
            continue
        out.append(str(tag))
    out += [str(t) for t in tags.compatible_tags(version, interpreter, platforms)]
    return out


def wheel_tags(filename: str) -> list[str]:
    """The tags a wheel file's name declares; a name that is no wheel's is one line."""
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename
    try:
        _name, _ver, _build, found = parse_wheel_filename(filename)
    except InvalidWheelFilename as e:
        raise WasmbuildError(f"{filename}: not a wheel file name ({e})") from None
    return sorted(str(t) for t in found)


def check_wheel(filename: str, accepted: list[str], interpreter: str) -> None:
    """Refuse, in one line naming both tags, a wheel the interpreter cannot load.
    `interpreter`: how to name it (target and CPython version)."""
    declared = wheel_tags(filename)
    if set(declared) & set(accepted):
        return
    raise WasmbuildError(f"{filename} is refused: its tag is {', '.join(declared)}, and the "
                         f"{interpreter} interpreter takes {accepted[0]} (or a pure-Python "
                         f"wheel); build it for this interpreter")
