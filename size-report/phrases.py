#!/usr/bin/env python3
"""Proposes the pair dictionary of src/error/phrases.rs for the current sentences.

Usage: size-report/phrases.py [COUNT]   (default and most: 159)

With the `messages` feature the library packs its sentences — the message templates of
src/error/messages.rs' `messages!` table and the errno descriptions of src/text/errno.rs — at
compile time by byte-pair encoding: each pair of the dictionary, in order, replaces every
place where its two halves stand side by side with one byte (0x80-0xff, then 0x01-0x1f: the
bytes no sentence uses). A half is one character or an earlier pair. This script runs the same
encoding, picking at each step the pair that stands side by side most often (while it saves
more than the two bytes the pair costs in the dictionary), and prints the Rust lines to paste
into PAIRS, then the sizes. A stale dictionary is never wrong (packing and unpacking
round-trip any sentence; a unit test checks), only less small.
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The bytes a pair becomes, in the order of the dictionary (phrases.rs: `code`).
CODES = list(range(0x80, 0x100)) + list(range(0x01, 0x20))


def strings(path, start_marker, end_marker):
    source = open(os.path.join(ROOT, path), encoding="utf-8").read()
    start = source.index(start_marker)
    end = source.index(end_marker, start)
    return source[start:end]


def templates():
    table = strings("src/error/messages.rs", "messages! {", "\n}\n")
    return [bytes(text, "ascii").decode("unicode_escape").encode("ascii")
            for text in re.findall(r'"((?:[^"\\]|\\.)*)"', table)]


def descriptions():
    table = strings("src/text/errno.rs", "const ERRNO_DESCRIPTIONS", '";')
    body = table[table.index('b"') + 2:].replace("\\\n", "")
    return [text.strip().encode("ascii") for text in body.split("\\0") if text.strip()]


def main():
    count = min(int(sys.argv[1]) if len(sys.argv) > 1 else len(CODES), len(CODES))
    texts = templates() + descriptions()
    sequences = [list(text) for text in texts]
    expansion = {byte: bytes([byte]) for byte in range(0x20, 0x7f)}
    pairs = []
    while len(pairs) < count:
        counts = {}
        for sequence in sequences:
            for pair in zip(sequence, sequence[1:]):
                counts[pair] = counts.get(pair, 0) + 1
        if not counts:
            break
        pair, uses = max(counts.items(), key=lambda item: item[1])
        if uses <= 2:
            break
        code = CODES[len(pairs)]
        pairs.append(pair)
        expansion[code] = expansion[pair[0]] + expansion[pair[1]]
        for sequence in sequences:
            merged, index = [], 0
            while index < len(sequence):
                if tuple(sequence[index:index + 2]) == pair:
                    merged.append(code)
                    index += 2
                else:
                    merged.append(sequence[index])
                    index += 1
            sequence[:] = merged

    def literal(text):
        return 'b"%s"' % text.decode("ascii").replace("\\", "\\\\").replace('"', '\\"')

    for first, second in pairs:
        print(f"    [{literal(expansion[first])}, {literal(expansion[second])}],")
    raw = sum(len(text) + 1 for text in texts)
    packed = sum(len(sequence) + 1 for sequence in sequences)
    print(f"// sentences {raw} bytes -> packed {packed} + dictionary {2 * len(pairs)} "
          f"= {packed + 2 * len(pairs)} ({len(pairs)} pairs)", file=sys.stderr)


if __name__ == "__main__":
    main()
