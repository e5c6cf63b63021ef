"""Third-party C extensions for a built interpreter: a cross-build environment per
target (crossenv:), wheels built in it from sdists or folders (wheel:), installed where
the interpreter finds them (site:), and the packages' own tests run in it (wheel_test:).

Data flows as in the rest of wasmbuild: `_extensions.yaml` and a target's `extensions:`
(spec) -> paths (layout) -> doit tasks (tasks) -> actions (crossenv, build, site); the
platform tags a wheel may carry are decided in `tags`, from the interpreter's own answers.
"""
