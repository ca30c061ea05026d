#!/usr/bin/env python3
"""Proposes the phrase dictionary of src/error/phrases.rs for the current message templates.

Usage: size-report/phrases.py [COUNT]   (default 96; at most 128)

The library packs its message templates at compile time: each phrase of the dictionary is
replaced by one byte (0x80 + its index), greedily, left to right, the first phrase of the list
that matches (so the list is ordered: longest savings first). This script reads the templates
from src/error/messages.rs' `messages!` table, picks phrases greedily by the bytes they save (their
own bytes in the dictionary counted), simulates the compile-time packing with that order and
prints the Rust lines to paste into PHRASES, then the sizes. A stale dictionary is never
wrong (packing and unpacking round-trip any template; a unit test checks), only less small.
"""
import os
import re
import sys
from collections import Counter

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def templates():
    source = open(os.path.join(ROOT, "src", "error", "messages.rs"), encoding="utf-8").read()
    start = source.index("messages! {")
    end = source.index("\n}\n", start)
    return [bytes(text, "ascii").decode("unicode_escape").encode("ascii")
            for text in re.findall(r'"((?:[^"\\]|\\.)*)"', source[start:end])]


def candidates(texts):
    found = Counter()
    for text in texts:
        words = re.findall(rb"\S+ ?", text)
        for size in (1, 2, 3):
            for index in range(len(words) - size + 1):
                phrase = b"".join(words[index:index + size])
                if len(phrase) >= 3:
                    found[phrase] += 1
        for match in re.finditer(rb"[A-Za-z]{4,}", text):
            found[match.group(0)] += 1
    return found


def pack(text, phrases):
    out = bytearray()
    position = 0
    while position < len(text):
        for index, phrase in enumerate(phrases):
            if text.startswith(phrase, position):
                out.append(0x80 + index)
                position += len(phrase)
                break
        else:
            out.append(text[position])
            position += 1
    return bytes(out)


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 96
    texts = templates()
    joined = b"\0".join(texts) + b"\0"
    current = joined
    chosen = []
    pool = candidates(texts)
    while len(chosen) < min(count, 128):
        best, saved = None, 0
        for phrase in pool:
            uses = current.count(phrase)
            gain = uses * (len(phrase) - 1) - (len(phrase) + 1)
            if gain > saved:
                best, saved = phrase, gain
        if best is None or saved <= 2:
            break
        chosen.append(best)
        current = current.replace(best, bytes([0x80 + len(chosen) - 1]))
    packed = sum(len(pack(text, chosen)) + 1 for text in texts)
    dictionary = sum(len(phrase) + 1 for phrase in chosen)
    for phrase in chosen:
        print('    b"%s",' % phrase.decode("ascii").replace("\\", "\\\\").replace('"', '\\"'))
    print(f"// templates {len(joined)} bytes -> packed {packed} + dictionary {dictionary} "
          f"= {packed + dictionary} ({len(chosen)} phrases)", file=sys.stderr)


if __name__ == "__main__":
    main()
