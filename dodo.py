"""wasmbuild: `doit host:emscripten`, `doit host:wasi`, `doit list --all`.

Variables: cpython=PATH (a CPython checkout; default: the release the YAML names),
cross_build=PATH (default PATH/cross-build), provider=debian-root|system, jobs=N,
modules=all|quick|test_a,test_b (test:<target>), targets=DIR, toolchains=DIR.
"""
from wasmbuild.dodo_entry import load

globals().update(load())
