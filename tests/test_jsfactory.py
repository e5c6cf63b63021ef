"""make.eager_factory: an Emscripten ES module factory rewritten as a parenthesized
expression (wasmbuild/artifacts/jsfactory.py), the same module to whoever imports it."""
import pytest

from wasmbuild.artifacts.jsfactory import eager_factory

# the shape of Emscripten's MODULARIZE + EXPORT_ES6 output (src/modularize.js), minified
FACTORY = ('async function Module(moduleArg={}){var Module=moduleArg;'
           'var f=()=>({"a}b":"}"});Module.answer=f();Module.seen=typeof Module;'
           'await Promise.resolve();\n;return Module}export default Module;\n')


def test_factory_becomes_an_expression_once(tmp_path):
    js = tmp_path / "python.mjs"
    js.write_text(FACTORY)
    js.chmod(0o640)
    assert eager_factory(js) == "python.mjs: factory compiled with the module's top level"
    text = js.read_text()
    assert text.startswith("var Module=(async function Module(moduleArg={}){")
    assert text.endswith("return Module});\nexport default Module;\n")
    assert js.stat().st_mode & 0o777 == 0o640
    assert eager_factory(js) == "python.mjs: factory compiled with the module's top level before"
    assert js.read_text() == text


@pytest.mark.parametrize("text, why", [
    ('"use strict";\n' + FACTORY, "it does not start with a function declaration"),
    (FACTORY.replace("export default Module;", "export default Other;"),
     "it does not end with `export default Module;`"),
    (FACTORY + "console.log(1);\n", "it does not end with `export default Module;`"),
    (FACTORY.replace("return Module}export", "return Module};x=1;export"),
     "the declaration does not end before its export"),
])
def test_anything_else_is_left_as_it_is(tmp_path, text, why):
    js = tmp_path / "python.mjs"
    js.write_text(text)
    assert eager_factory(js) == f"python.mjs: left as it is: {why}"
    assert js.read_text() == text


def test_make_rewrites_each_named_factory_and_logs_it(tmp_path):
    from wasmbuild.actions import eager_factories
    from wasmbuild.errors import WasmbuildError
    js, log = tmp_path / "python.mjs", tmp_path / "make.log"
    js.write_text(FACTORY)
    eager_factories([js], log, "make.eager_factory")
    eager_factories([js], log, "make.eager_factory")
    assert log.read_text().splitlines() == [
        "python.mjs: factory compiled with the module's top level",
        "python.mjs: factory compiled with the module's top level before"]
    with pytest.raises(WasmbuildError, match=r"^make.eager_factory: .*missing.mjs was not linked: name"):
        eager_factories([tmp_path / "missing.mjs"], log, "make.eager_factory")
