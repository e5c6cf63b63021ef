"""artifacts/datarelocs.py on small modules written here: what wasm-ld writes for a
position-independent main module (a data segment at __memory_base, and
__wasm_apply_data_relocs storing bases plus constants into it)."""
from pathlib import Path

from wasmbuild.artifacts import datarelocs as d
from wasmbuild.artifacts import wasmbinary as w

LOADER = ('var ___memory_base=new WebAssembly.Global({value:"i32",mutable:false},1024);'
          'var ___table_base=new WebAssembly.Global({value:"i32",mutable:false},1);')
MB, SP, TB, GOT = 0, 1, 2, 3          # the imported globals' indices


def name(text: str) -> bytes:
    return w.uleb(len(text)) + text.encode()


def get(index):
    return bytes([d.GLOBAL_GET]) + w.uleb(index)


def const(value):
    return bytes([d.I32_CONST]) + w.sleb(value)


def store(offset=0):
    return bytes([d.I32_STORE, 2]) + w.uleb(offset)


def static(x, base, y, op=d.I32_ADD):
    """memory[MB + x] = base (+|-) y"""
    return get(MB) + const(x) + bytes([d.I32_ADD]) + get(base) + const(y) + bytes([op]) + store()


def got(x):
    """memory[MB + x] = a GOT entry (known at start-up only)"""
    return get(MB) + const(x) + bytes([d.I32_ADD]) + get(GOT) + store()


def module(stores: bytes, data: bytes = bytes(32), local_decls: bytes = b"\0",
           start_body: bytes | None = None, other_body: bytes = b"", exported: bool = False) -> bytes:
    """Function 0 (the start function when `start_body` is given, with the module's own
    globals 4 and 5, exported as g4 if `exported`), then __wasm_apply_data_relocs, then
    any other code (`other_body`)."""
    types = w.uleb(1) + bytes([0x60, 0, 0])
    imports = w.uleb(4) + b"".join(name("env") + name(n) + bytes([3, 0x7F, mut])
                                   for n, mut in [("__memory_base", 0), ("__stack_pointer", 1),
                                                  ("__table_base", 0)]) \
        + name("GOT.mem") + name("x") + bytes([3, 0x7F, 1])
    bodies = [start_body or b"\0" + bytes([d.END]), local_decls + stores + bytes([d.END])] \
        + ([other_body] if other_body else [])
    functions = w.uleb(len(bodies)) + bytes(len(bodies))
    exports = w.uleb(2 if exported else 1) + name(d.FUNCTION_NAME) + bytes([0]) + w.uleb(1) \
        + (name("g4") + bytes([3]) + w.uleb(4) if exported else b"")
    code = w.uleb(len(bodies)) + b"".join(w.uleb(len(b)) + b for b in bodies)
    segment = w.uleb(1) + bytes([0]) + get(MB) + bytes([d.END]) + w.uleb(len(data)) + data
    own = (w.section(w.GLOBAL, w.uleb(2) + (bytes([0x7F, 1]) + const(0) + bytes([d.END])) * 2)
           if start_body else b"")
    start = w.section(w.START, w.uleb(0)) if start_body else b""
    return (w.MAGIC + w.section(w.TYPE, types) + w.section(w.IMPORT, imports)
            + w.section(w.FUNCTION, functions) + own + w.section(w.EXPORT, exports) + start
            + w.section(w.CODE, code) + w.section(w.DATA, segment))


def write(tmp_path: Path, stores: bytes, loader: str = LOADER, **kw) -> tuple[Path, Path]:
    wasm, js = tmp_path / "python.wasm", tmp_path / "python.js"
    wasm.write_bytes(module(stores, **kw))
    js.write_text(loader)
    return wasm, js


def segment_bytes(data: bytes) -> bytes:
    sec = next(s for s in w.sections(data) if s.id == w.DATA)
    return data[sec.end - 32:sec.end]


def body_of_relocs(data: bytes) -> bytes:
    sec = next(s for s in w.sections(data) if s.id == w.CODE)
    _, i = w.read_uleb(data, sec.payload)
    size, i = w.read_uleb(data, i)
    size, i = w.read_uleb(data, i + size)
    return data[i:i + size]


def test_static_stores_go_into_the_segment_and_the_rest_stays_behind_a_guard(tmp_path):
    stores = static(0, MB, 100) + got(4) + static(8, TB, 7) + static(12, MB, 16, d.I32_SUB) \
        + static(40, MB, 1)                # 40: past the segment's 32 bytes (bss): kept
    wasm, js = write(tmp_path, stores)
    r = d.prelink(wasm, js)
    assert (r.applied, r.kept, r.why_not) == (3, 2, "")
    out = wasm.read_bytes()
    seg = segment_bytes(out)
    assert int.from_bytes(seg[0:4], "little") == 1024 + 100
    assert int.from_bytes(seg[8:12], "little") == 1 + 7
    assert int.from_bytes(seg[12:16], "little") == 1024 - 16
    assert seg[4:8] == bytes(4)            # the GOT's store is left to start-up
    guard = b"".join(get(i) + const(v) + bytes([d.I32_NE, d.IF, d.VOID, d.UNREACHABLE, d.END])
                     for i, v in [(MB, 1024), (TB, 1)])
    assert body_of_relocs(out) == b"\0" + guard + got(4) + static(40, MB, 1) + bytes([d.END])
    assert r.saved == len(module(stores)) - len(out) > 0
    # again: nothing changes
    assert d.prelink(wasm, js) == d.Result(0, 0, 0) and wasm.read_bytes() == out


def test_nothing_is_done_unless_it_is_all_so(tmp_path):
    cases = {
        "does not instantiate it at constant bases": dict(loader="var x = 1;"),
        "an address is written twice": dict(stores=static(0, MB, 1) + static(0, MB, 2)),
        "is not only stores": dict(stores=static(0, MB, 1) + get(MB) + bytes([0x1A])),   # drop
    }
    for why, kw in cases.items():
        wasm, js = write(tmp_path, kw.get("stores", static(0, MB, 1)), kw.get("loader", LOADER))
        before = wasm.read_bytes()
        r = d.prelink(wasm, js)
        assert why in r.why_not and r.applied == 0, (why, r)
        assert wasm.read_bytes() == before
    wasm.write_bytes(b"not wasm at all")
    assert "not a module it can read" in d.prelink(wasm, js).why_not


def global_relocs(*pairs) -> bytes:
    """__wasm_apply_global_relocs: global[g] = base + c, each"""
    return b"\0" + b"".join(get(base) + const(c) + bytes([d.I32_ADD, d.GLOBAL_SET]) + w.uleb(g)
                            for g, base, c in pairs) + bytes([d.END])


def test_values_of_the_modules_own_got_entries_are_known(tmp_path):
    # memory[MB + 0] = g4 + 4 (g4 = MB + 500), memory[MB + 8] = g5 (g5 = TB + 3),
    # memory[MB + 16] = the imported GOT entry: only that one stays
    stores = (get(MB) + const(0) + bytes([d.I32_ADD]) + get(4) + const(4) + bytes([d.I32_ADD]) + store()
              + get(MB) + const(8) + bytes([d.I32_ADD]) + get(5) + const(0) + bytes([d.I32_ADD]) + store()
              + got(16))
    wasm, js = write(tmp_path, b"")
    wasm.write_bytes(module(stores, start_body=global_relocs((4, MB, 500), (5, TB, 3))))
    r = d.prelink(wasm, js)
    assert (r.applied, r.kept, r.why_not) == (2, 1, ""), r
    seg = segment_bytes(wasm.read_bytes())
    assert int.from_bytes(seg[0:4], "little") == 1024 + 500 + 4
    assert int.from_bytes(seg[8:12], "little") == 1 + 3
    assert seg[16:20] == bytes(4)


def test_an_own_global_that_may_change_is_left_to_start_up(tmp_path):
    stores = get(MB) + const(0) + bytes([d.I32_ADD]) + get(4) + const(4) + bytes([d.I32_ADD]) + store()
    cases = {
        # another function sets g4 (its index padded to 5 bytes, as wasm-ld writes it)
        "set elsewhere": dict(other_body=b"\0" + const(7) + bytes([d.GLOBAL_SET, 0x84, 0x80, 0x80, 0x80, 0])
                              + bytes([d.END])),
        "exported": dict(exported=True),
        "set twice": dict(start_body=global_relocs((4, MB, 500), (4, MB, 600))),
        "a start function that does more": dict(
            start_body=b"\0" + get(MB) + const(500) + bytes([d.I32_ADD, d.GLOBAL_SET, 4])
            + const(1) + bytes([0x1A, d.END])),                   # and drops a constant
    }
    for why, kw in cases.items():
        wasm, js = write(tmp_path, b"")
        wasm.write_bytes(module(stores, start_body=kw.pop("start_body", global_relocs((4, MB, 500))), **kw))
        r = d.prelink(wasm, js)
        assert (r.applied, r.kept) == (0, 1), (why, r)


def test_a_body_is_read_instruction_by_instruction():
    # a block, br_table, call_indirect, f64.const, a load, memory.copy, a 5-byte index
    body = (b"\0" + bytes([0x02, 0x40]) + const(0x24) + bytes([0x0E, 2, 0, 0, 0])
            + bytes([0x11, 0, 0]) + bytes([0x44]) + bytes([0x24] * 8) + bytes([0x1A])
            + bytes([0x28, 2, 0x24]) + bytes([0xFC, 10, 0, 0])
            + bytes([d.GLOBAL_SET, 0x87, 0x80, 0x80, 0x80, 0]) + bytes([d.END, d.END]))
    assert d._sets(body) == {7}                    # the 0x24 bytes of immediates are none
    assert d._sets(b"\0" + bytes([0xFD, 12]) + bytes(16) + bytes([d.END])) is None   # SIMD
    assert d._sets(b"\0" + const(1) + bytes([0x1A])) is None                         # no end


def test_the_bases_are_read_from_the_loader():
    assert d.bases_from_loader(LOADER) == {"__memory_base": 1024, "__table_base": 1}
    assert d.bases_from_loader("var ___memory_base = new WebAssembly.Global({value: 'i32'}, 2048)") \
        == {"__memory_base": 2048}



def test_values_kept_in_locals_as_wasm_opt_oz_writes_them(tmp_path):
    # -Oz: `local.tee` keeps a base plus a constant, `local.get` stores it again elsewhere
    tee, reuse = bytes([d.LOCAL_TEE]) + w.uleb(0), bytes([d.LOCAL_GET]) + w.uleb(0)
    stores = (get(MB) + const(0) + bytes([d.I32_ADD]) + get(MB) + const(100) + bytes([d.I32_ADD])
              + tee + store() + get(MB) + const(8) + bytes([d.I32_ADD]) + reuse + store()
              + got(12))
    wasm, js = write(tmp_path, b"")
    wasm.write_bytes(module(stores, local_decls=w.uleb(1) + w.uleb(1) + bytes([0x7F])))
    r = d.prelink(wasm, js)
    assert (r.applied, r.kept, r.why_not) == (2, 1, ""), r
    seg = segment_bytes(wasm.read_bytes())
    assert int.from_bytes(seg[0:4], "little") == int.from_bytes(seg[8:12], "little") == 1124
    assert body_of_relocs(wasm.read_bytes()).endswith(got(12) + bytes([d.END]))
    assert body_of_relocs(wasm.read_bytes())[:1] == b"\0"        # no locals left


def test_the_build_step_says_what_it_did_and_refuses_a_missing_module(tmp_path):
    import pytest
    from wasmbuild.actions import prelink_modules
    from wasmbuild.errors import WasmbuildError
    log = tmp_path / "make.log"
    wasm, _ = write(tmp_path, static(0, MB, 100) + static(8, MB, 4) + static(12, TB, 3) + got(4))
    other = tmp_path / "other.wasm"                       # no loader beside it
    other.write_bytes(module(static(0, MB, 1)))
    prelink_modules([wasm, other], log, "make.prelink")
    prelink_modules([wasm], log, "make.prelink")
    assert log.read_text().splitlines() == [
        "python.wasm: 3 data relocations applied at build time, 1 left to start-up (0.00 MB less)",
        "other.wasm: data relocations left to start-up: no other.js or .mjs beside it",
        "python.wasm: data relocations applied before"]
    with pytest.raises(WasmbuildError, match=r"^make.prelink: .*missing.wasm was not linked: name"):
        prelink_modules([tmp_path / "missing.wasm"], log, "make.prelink")
