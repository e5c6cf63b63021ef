"""An Emscripten ES module factory (MODULARIZE + EXPORT_ES6: `async function Module(...)
{...}export default Module;`) rewritten as a parenthesized function expression, which V8
compiles with the module's own top level (its "PIFE" heuristic) rather than when the
factory is first called.

Why: the factory's body is the whole runtime (0.3-0.6 MB of JavaScript). Node's compile
cache (module.enableCompileCache) keeps the code V8 compiled with a module's top level,
so that a declared factory is compiled again at every start (3.14.7: ~15 ms of the main
thread), a parenthesized one read from the cache. Same function, same name, same export;
without a cache it costs what it did.
"""
from __future__ import annotations

import re
from pathlib import Path

from ..atomic import write_text

# the factory as Emscripten 6.0.5 declares it (src/modularize.js), and once rewritten;
# 3.1.69 already returns a parenthesized function expression, which is left as it is
DECLARATION = re.compile(r"(?:async )?function (?P<name>[A-Za-z_$][\w$]*)\(")
EXPRESSION = re.compile(r"var (?P<name>[A-Za-z_$][\w$]*)=\((?:async )?function (?P=name)\(")


def eager_factory(path: Path) -> str:
    """Rewrite `path` in place where it is such a factory; a line saying what was done."""
    text = path.read_text(encoding="utf-8")
    if EXPRESSION.match(text):
        return f"{path.name}: factory compiled with the module's top level before"
    start = DECLARATION.match(text)
    if start is None:
        return f"{path.name}: left as it is: it does not start with a function declaration"
    name = start["name"]
    tail = re.search(rf"export default {re.escape(name)};\s*\Z", text)
    if tail is None:
        return f"{path.name}: left as it is: it does not end with `export default {name};`"
    body = text[:tail.start()].rstrip().rstrip(";").rstrip()
    if not body.endswith("}"):
        return f"{path.name}: left as it is: the declaration does not end before its export"
    write_text(path, f"var {name}=({body});\nexport default {name};\n", path.stat().st_mode & 0o777)
    return f"{path.name}: factory compiled with the module's top level"
