#!/usr/bin/env python3
"""Builds the kernel's symbol table (.ksyms) from a linked kernel, or checks one.

    mksyms.py build KERNEL.elf OUT.bin     function symbols of KERNEL, demangled
    mksyms.py check KERNEL.elf TABLE.bin   every entry of TABLE names the same address
                                           in KERNEL (the second link moved nothing)

The layout is described in kernel/debug/SymbolTable.swift.
"""
import shutil
import struct
import subprocess
import sys

MAGIC = 0x4D59534B  # "KSYM"
HEADER = struct.Struct("<IIII")
ENTRY = struct.Struct("<QII")
NAME_LIMIT = 150


def tool(name):
    for candidate in (f"/opt/swift/usr/bin/{name}", shutil.which(name)):
        if candidate and shutil.os.path.exists(candidate):
            return candidate
    sys.exit(f"mksyms: {name} not found")


def function_symbols(elf):
    """(address, size, mangled name) of every function, by address."""
    out = subprocess.run([tool("llvm-nm"), "--defined-only", "-S", "-n", elf],
                         check=True, capture_output=True, text=True).stdout
    symbols = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4:
            address, size, kind, name = parts
        elif len(parts) == 3:
            address, kind, name = parts
            size = "0"
        else:
            continue
        if kind.lower() != "t":
            continue
        symbols.append((int(address, 16), int(size, 16), name))
    # Assembly labels have no size: they reach to the next symbol.
    for i, (address, size, name) in enumerate(symbols):
        if size == 0 and i + 1 < len(symbols):
            symbols[i] = (address, symbols[i + 1][0] - address, name)
    return symbols


def demangle(names):
    result = subprocess.run([tool("swift-demangle"), "--simplified"], input="\n".join(names),
                            check=True, capture_output=True, text=True).stdout.splitlines()
    if len(result) != len(names):
        return names
    return [shorten(name) for name in result]


def shorten(name):
    # Specialization prefixes say nothing a reader needs in a backtrace.
    if name.startswith("specialized "):
        name = name[len("specialized "):]
    for prefix in ("generic specialization <", "function signature specialization <"):
        while name.startswith(prefix):
            depth, i = 0, 0
            for i, ch in enumerate(name):
                if ch == "<":
                    depth += 1
                elif ch == ">":
                    depth -= 1
                    if depth == 0:
                        break
            rest = name[i + 1:]
            name = rest[len(" of "):] if rest.startswith(" of ") else rest
    return name if len(name) <= NAME_LIMIT else name[:NAME_LIMIT - 3] + "..."


def build(elf, out):
    symbols = function_symbols(elf)
    names = demangle([name for _, _, name in symbols])
    strings = bytearray()
    entries = bytearray()
    for (address, size, _), name in zip(symbols, names):
        entries += ENTRY.pack(address, min(size, 0xFFFFFFFF), len(strings))
        strings += name.encode("utf-8", "replace") + b"\0"
    strings_offset = HEADER.size + len(entries)
    with open(out, "wb") as f:
        f.write(HEADER.pack(MAGIC, len(symbols), strings_offset, 0))
        f.write(entries)
        f.write(strings)


def check(elf, table):
    data = open(table, "rb").read()
    magic, count, _, _ = HEADER.unpack_from(data)
    assert magic == MAGIC, "bad table"
    now = {address for address, _, _ in function_symbols(elf)}
    for i in range(count):
        address, _, _ = ENTRY.unpack_from(data, HEADER.size + i * ENTRY.size)
        if address not in now:
            sys.exit(f"mksyms: {elf}: no function at {address:#x} any more: "
                     "the second link moved code, so the symbol table would lie")


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] not in ("build", "check"):
        sys.exit(__doc__)
    (build if sys.argv[1] == "build" else check)(sys.argv[2], sys.argv[3])
