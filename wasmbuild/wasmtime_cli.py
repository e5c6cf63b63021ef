#!/usr/bin/env python3
"""A small `wasmtime run` CLI over the PyPI `wasmtime` bindings (Debian ships no wasmtime).

Installed into the toolchain root at provisioning; runs there with the bindings' venv.
Supports: wasmtime [run] [--wasm max-wasm-stack=N] [--wasi OPT] [--dir HOST[::GUEST]]
          [--env K=V] [--argv0 NAME] [--] module.wasm [args...]
"""
import os
import sys

import wasmtime

MIB = 1 << 20


def parse(argv):
    opts = {"stack": None, "dirs": [], "env": [], "argv0": None}
    if argv and argv[0] == "run":
        argv = argv[1:]
    i = 0
    while i < len(argv) and argv[i].startswith("-"):
        arg = argv[i]
        if arg == "--":
            i += 1
            break
        name, eq, value = arg.partition("=")
        if not eq:
            i += 1
            if i >= len(argv):
                raise SystemExit(f"wasmtime: {arg} needs a value")
            value = argv[i]
        if name in ("--wasm", "-W"):
            for item in value.split(","):
                key, _, v = item.partition("=")
                if key == "max-wasm-stack":
                    opts["stack"] = int(v)
        elif name in ("--wasi", "-S"):
            pass                        # preview1/preview2 choice: the bindings pick
        elif name == "--dir":
            host, sep, guest = value.partition("::")
            opts["dirs"].append((host, guest if sep else host))
        elif name == "--env":
            key, _, v = value.partition("=")
            opts["env"].append((key, v))
        elif name == "--argv0":
            opts["argv0"] = value
        else:
            raise SystemExit(f"wasmtime: unsupported option {name}")
        i += 1
    if i >= len(argv):
        raise SystemExit("wasmtime: no module given")
    return opts, argv[i], argv[i + 1:]


def cache_setting():
    """Compiled modules are cached (first start ~2.7 s, later ~0.2 s). WASMTIME_CACHE_DIR
    names a persistent folder; without it wasmtime's default ($HOME/.cache) is used."""
    folder = os.environ.get("WASMTIME_CACHE_DIR")
    if not folder or not os.access(folder, os.W_OK):
        return True
    toml = os.path.join(folder, "cache-config.toml")
    if not os.path.exists(toml):
        tmp = f"{toml}.{os.getpid()}"
        with open(tmp, "w") as f:
            f.write(f'[cache]\ndirectory = "{folder}"\n')
        os.replace(tmp, toml)
    return toml


def main(argv):
    if argv[:1] in (["--version"], ["-V"]):
        print(f"wasmtime-py {getattr(wasmtime, '__version__', '')}".strip())
        return 0
    opts, module_path, args = parse(argv)
    config = wasmtime.Config()
    try:
        config.cache = cache_setting()
    except wasmtime.WasmtimeError:
        pass            # no writable cache: compile every time (slower start, same result)
    if opts["stack"]:
        # The async stack must be at least max_wasm_stack, else the engine panics;
        # the bindings do not expose it as a property.
        from wasmtime import _ffi as ffi
        ffi.wasmtime_config_async_stack_size_set(config.ptr(), opts["stack"] + MIB)
        config.max_wasm_stack = opts["stack"]
    engine = wasmtime.Engine(config)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    store = wasmtime.Store(engine)
    wasi = wasmtime.WasiConfig()
    # The real CLI passes the module's base name as argv[0]; a host path there breaks
    # CPython's getpath ("No module named 'encodings'").
    wasi.argv = [opts["argv0"] or os.path.basename(module_path), *args]
    wasi.env = opts["env"]
    for host, guest in opts["dirs"]:
        wasi.preopen_dir(host, guest)
    wasi.inherit_stdin()
    wasi.inherit_stdout()
    wasi.inherit_stderr()
    store.set_wasi(wasi)
    module = wasmtime.Module.from_file(engine, module_path)
    instance = linker.instantiate(store, module)
    try:
        instance.exports(store)["_start"](store)
    except wasmtime.ExitTrap as e:
        return e.code
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
