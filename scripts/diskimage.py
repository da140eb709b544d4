#!/usr/bin/env python3
"""The test disk: every 4 KiB block says which block it is and carries a checksum.

Layout of block n (little-endian), shared with kernel/test/BlockPattern.swift:

    0..8        n, the block number
    8..16       the generation: 0 as made here, and whatever a test wrote later
    16..4092    filler: the 64-bit word n * 0x9E3779B97F4A7C15 + generation, repeated
    4092..4096  CRC-32 (zlib's, IEEE) of bytes 0..4092

usage: diskimage.py make PATH [--mib 64]
       diskimage.py verify PATH [--written FIRST:COUNT:GENERATION ...]

`verify` checks that every block is intact, that blocks in a written range carry that
generation and all others generation 0, and names the first blocks that do not.
"""
import argparse
import struct
import sys
import zlib

BLOCK = 4096
GOLDEN = 0x9E3779B97F4A7C15


def block_bytes(block, generation=0):
    """Block `block` as written with `generation`: number, generation, filler, CRC-32."""
    word = struct.pack("<Q", (block * GOLDEN + generation) & ((1 << 64) - 1))
    body = struct.pack("<QQ", block, generation) + (word * 510)[:BLOCK - 20]
    return body + struct.pack("<I", zlib.crc32(body))


def make(path, mib):
    with open(path, "wb") as image:
        for block in range(mib * 1024 * 1024 // BLOCK):
            image.write(block_bytes(block))


def problems(path, written, allowed=None):
    """Yields a description of every block that is not what it should be. `written`
    lists (first, count, generation) ranges rewritten with one generation; `allowed`
    maps a block to the generations it may hold (None: any, as long as it is intact)."""
    with open(path, "rb") as image:
        data = image.read()
    if len(data) % BLOCK:
        yield f"image size {len(data)} is not a whole number of 4 KiB blocks"
        return
    for block in range(len(data) // BLOCK):
        expected = 0
        for first, count, generation in written:
            if first <= block < first + count:
                expected = generation
        choices = (expected,)
        actual = data[block * BLOCK:(block + 1) * BLOCK]
        if allowed is not None and block in allowed:
            choices = allowed[block]
            if choices is None:  # any generation: the one it says it holds
                choices = (struct.unpack_from("<Q", actual, 8)[0],)
        if all(actual != block_bytes(block, generation) for generation in choices):
            number, generation = struct.unpack_from("<QQ", actual)
            said = " or ".join(str(g) for g in choices)
            yield (f"block {block}: expected generation {said}, found block number "
                   f"{number} generation {generation}"
                   f"{'' if zlib.crc32(actual[:-4]) == struct.unpack_from('<I', actual, BLOCK - 4)[0] else ' with a bad checksum'}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["make", "verify"])
    parser.add_argument("path")
    parser.add_argument("--mib", type=int, default=64)
    parser.add_argument("--written", action="append", default=[],
                        help="FIRST:COUNT:GENERATION, a range a test rewrote")
    args = parser.parse_args()
    if args.command == "make":
        make(args.path, args.mib)
        return 0
    written = [tuple(int(x) for x in spec.split(":")) for spec in args.written]
    found = list(problems(args.path, written))
    for line in found[:20]:
        print(line, file=sys.stderr)
    if found:
        print(f"{args.path}: {len(found)} blocks are not as expected", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
