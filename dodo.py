"""wasmbuild: `doit host:emscripten`, `doit host:wasi`, `doit list --all`.

Variables: cpython=PATH (a CPython checkout; default: the release the YAML names),
cross_build=PATH (default PATH/cross-build), provider=debian-root|system.
"""
from doit import get_var

from wasmbuild.dodo_entry import load

globals().update(load(get_var))
