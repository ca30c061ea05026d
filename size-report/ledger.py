#!/usr/bin/env python3
"""Where the bytes of a binary go, by module: REPORT.md's ledger.

Usage:
  ledger.py measure ROOT OUT.json NAME=STRIPPED,UNSTRIPPED,LINES...
  ledger.py markdown OUT.json SECTION [ARG...]
  ledger.py sections BASE FULL   what FULL adds to BASE, section by section (loaded bytes)

`measure` reads, for each binary NAME:
  STRIPPED    the shipped file (its size and sections: what the ledger adds up to);
  UNSTRIPPED  the same build with `strip = false`: the bytes of each symbol (`nm -S`),
              grouped by the module path of its (demangled) name — the *symbol ledger*;
  LINES       the same build with line tables (`debug = "line-tables-only"`): every byte of
              `.text` attributed to the source line DWARF names for it, which is the
              innermost inlined callee, so the code LTO inlined into `main` is counted where
              it was written — the *line ledger* (and the functions table).
and the sources under ROOT for the read-only data: each packed table and text literal of
the sources (error templates, errno names and descriptions, help, usage errors, ...) is
looked for in the binary's `.rodata` and its bytes counted once (never two parts for the
same bytes). Nothing is estimated here: a part that is not found is reported as not found.

`markdown` prints one section of REPORT.md from OUT.json (see SECTIONS at the end).
Exit 2 when a binary cannot be read (not ELF64, no `.debug_line` of DWARF 2-4, ...).
"""
import json
import os
import re
import struct
import subprocess
import sys
from collections import defaultdict

# --- ELF ---------------------------------------------------------------------------------------


class Elf:
    """The sections of a little-endian ELF64 file."""

    def __init__(self, path):
        with open(path, "rb") as handle:
            data = handle.read()
        if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
            raise SystemExit(f"ledger.py: {path}: not a little-endian ELF64 file")
        shoff = struct.unpack_from("<Q", data, 0x28)[0]
        shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
        headers = [struct.unpack_from("<IIQQQQ", data, shoff + index * shentsize) for index in range(shnum)]
        names = headers[shstrndx][4]

        def name(offset):
            start = names + offset
            return data[start:data.index(b"\0", start)].decode()

        self.path = path
        self.data = data
        self.size = len(data)
        self.sections = {}
        self.order = []
        for sh_name, sh_type, flags, address, offset, size in headers:
            section = {"type": sh_type, "flags": flags, "address": address, "offset": offset, "size": size}
            label = name(sh_name)
            if label:
                self.sections[label] = section
                self.order.append(label)

    def contents(self, label):
        section = self.sections.get(label)
        if section is None or section["type"] == 8:  # missing or NOBITS
            return b""
        return self.data[section["offset"]:section["offset"] + section["size"]]

    def file_sections(self):
        """(name, bytes) of every section that takes bytes in the loaded image (SHF_ALLOC,
        not NOBITS), in file order."""
        return [(label, self.sections[label]["size"]) for label in self.order
                if self.sections[label]["flags"] & 2 and self.sections[label]["type"] != 8]


# --- Module groups -----------------------------------------------------------------------------

# The ledger's rows, in order; the "cli" and "control" rows are summed into subtotals.
# Tools crate (tools/src): the command line (cli/), the applets, the daemonizer by job, the
# output helpers, the multi-call dispatch (main) and the runtime (rt). Library (src): by module.
GROUPS = [
    "cli::options", "cli::control", "cli::daemonize", "cli::environment",
    "applet: control", "daemonize (launcher, messages)", "daemonize::supervisor",
    "daemonize::readiness", "daemonize::outputs", "daemonize::environment",
    "daemonize::env_file", "daemonize::setup", "daemonize::dry_run", "output",
    "control::mod", "control::guard", "control::deadline", "control::launch", "control::deliver",
    "control::proof", "control::procfs", "control::stop",
    "pidfile", "exec", "account", "credentials", "daemon", "error/text", "signal", "io", "sys",
    "rt", "main", "rustix", "core", "other",
]
CLI = ["cli::options", "cli::control", "cli::daemonize", "cli::environment"]
CONTROL = [group for group in GROUPS if group.startswith("control::")]
SIMPLE = {"pidfile", "exec", "account", "credentials", "daemon", "signal", "sys", "io"}
TOOL_MODULES = {"supervisor", "readiness", "outputs", "environment", "env_file", "setup", "dry_run"}


def group_of_path(module):
    """The ledger row of a library (`ucw_daemon::`) module path without the crate, e.g.
    `control::deliver`."""
    parts = module.split("::")
    head = parts[0]
    if head == "control":
        if len(parts) > 1 and "control::" + parts[1] in GROUPS:
            return "control::" + parts[1]
        return "control::mod"
    if head in ("error", "text"):
        return "error/text"
    if head in SIMPLE:
        return head
    return "other"


def group_of_tool_path(module):
    """The ledger row of a tools-crate (`ucw_daemon_tools::`) module path without the crate."""
    parts = module.split("::")
    head = parts[0]
    if head == "cli":
        if len(parts) > 1 and parts[1] in ("options", "control", "daemonize", "environment"):
            return "cli::" + parts[1]
        return "cli::options"
    if head == "control":
        return "applet: control"
    if head == "daemonize":
        if len(parts) > 1 and parts[1] in TOOL_MODULES:
            return "daemonize::" + parts[1]
        return "daemonize (launcher, messages)"
    if head == "output":
        return "output"
    if head == "rt":
        return "rt"
    return "main"


def strip_generics(name):
    """`a::b<c::d>::e` -> `a::b::e` (generic arguments dropped, nested ones too)."""
    out = []
    depth = 0
    for char in name:
        if char == "<":
            depth += 1
        elif char == ">":
            depth = max(0, depth - 1)
        elif depth == 0:
            out.append(char)
    return "".join(out)


RT_SYMBOLS = {"memcpy", "memmove", "memset", "memcmp", "bcmp", "strlen", "_start",
              "rust_eh_personality", "_Unwind_Resume"}


def group_of_symbol(name):
    """The ledger row of a demangled symbol name. The multi-call binary's own crate is also
    named `ucw_daemon` (its bin target is `ucw-daemon`): its only module, `multicall`, is
    the dispatch (main)."""
    if name.startswith("core::ptr::drop_in_place<"):
        # Drop glue: the type's module.
        name = name[len("core::ptr::drop_in_place<"):]
    elif name.startswith("<"):
        # `<Type as Trait>::method`: the type's module (a bare generic parameter: core's).
        inner = name[1:]
        depth = 0
        for index, char in enumerate(inner):
            if char == "<":
                depth += 1
            elif char == ">":
                depth -= 1
            elif depth == 0 and inner.startswith(" as ", index):
                inner = inner[:index]
                break
        name = inner
        if "::" not in name:
            return "core"
    path = strip_generics(name)
    if path in RT_SYMBOLS:
        return "rt"
    if path == "main":
        return "main"
    parts = path.split("::")
    crate = parts[0]
    if crate in ("ucw_daemon_control", "ucw_daemonize", "tiny_daemon"):
        return "rt" if len(parts) > 1 and parts[1] == "rt" else "main"
    if crate == "ucw_daemon_tools":
        return group_of_tool_path("::".join(parts[1:]))
    if crate == "ucw_daemon":
        if len(parts) > 1 and parts[1] == "multicall":
            return "main"
        return group_of_path("::".join(parts[1:]))
    if crate in ("rustix", "linux_raw_sys", "bitflags"):
        return "rustix"
    if crate in ("core", "compiler_builtins", "alloc"):
        return "core"
    if crate == "__rustc":
        return "rt"  # the panic handler's entry (tools/src/rt)
    return "other"


def group_of_file(path, root):
    """The ledger row of a source file named by DWARF, and its path relative to ROOT when it
    is one of ours (else None)."""
    normal = os.path.normpath(path)
    if "/rustix-" in normal or "/linux-raw-sys-" in normal or "/bitflags-" in normal:
        return "rustix", None
    if normal.startswith("/rustc/") or "/library/core/" in normal or "compiler_builtins" in normal:
        return "core", None
    relative = os.path.relpath(normal, root) if os.path.isabs(normal) else normal
    if relative.startswith("examples/") or relative in ("tools/src/main.rs",) or relative.startswith("tools/src/bin/"):
        return "main", relative
    if relative.startswith("tools/src/") and relative.endswith(".rs"):
        module = relative[len("tools/src/"):-len(".rs")]
        if module.endswith("/mod"):
            module = module[:-len("/mod")]
        return group_of_tool_path(module.replace("/", "::")), relative
    if relative.startswith("src/sys/"):
        return "sys", relative
    if relative.startswith("src/") and relative.endswith(".rs"):
        module = relative[len("src/"):-len(".rs")]
        if module.endswith("/mod"):
            module = module[:-len("/mod")]
        module = module.replace("/", "::")
        if module == "lib":
            return "other", relative
        return group_of_path(module), relative
    return "other", None


# --- Rust sources: a small lexer ---------------------------------------------------------------

ESCAPES = {"n": b"\n", "r": b"\r", "t": b"\t", "\\": b"\\", "0": b"\0", "'": b"'", '"': b'"'}
RAW = re.compile(r'(?:b|c)?r(#*)"')
IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|[0-9][A-Za-z0-9_]*")


def decode_escaped(text, start, quote):
    """Decodes a quoted literal's body from `start` (just after the opening quote) up to the
    closing `quote`; returns (bytes, index after the closing quote)."""
    out = bytearray()
    index = start
    while True:
        char = text[index]
        if char == quote:
            return bytes(out), index + 1
        if char == "\\":
            code = text[index + 1]
            if code == "\n":  # line continuation: skip the newline and the indentation
                index += 2
                while text[index] in " \t\n\r":
                    index += 1
                continue
            if code == "x":
                out.append(int(text[index + 2:index + 4], 16))
                index += 4
                continue
            if code == "u":
                end = text.index("}", index)
                out += chr(int(text[index + 3:end], 16)).encode()
                index = end + 1
                continue
            out += ESCAPES[code]
            index += 2
            continue
        out += char.encode()
        index += 1


def lex(text):
    """The tokens of Rust source `text` that the ledger needs, as (kind, value, line):
    kind 'str' (value: the literal's bytes; c"..." includes its NUL), 'ident' (identifiers
    and numbers) or 'punct' (one character). Comments, char literals and lifetimes are
    skipped."""
    tokens = []
    index = 0
    line = 1
    length = len(text)
    while index < length:
        char = text[index]
        if char == "\n":
            line += 1
            index += 1
            continue
        if char.isspace():
            index += 1
            continue
        if text.startswith("//", index):
            end = text.find("\n", index)
            index = length if end < 0 else end
            continue
        if text.startswith("/*", index):
            depth = 0
            while index < length:
                if text.startswith("/*", index):
                    depth += 1
                    index += 2
                elif text.startswith("*/", index):
                    depth -= 1
                    index += 2
                    if depth == 0:
                        break
                else:
                    line += text[index] == "\n"
                    index += 1
            continue
        raw = RAW.match(text, index)
        if raw:
            closing = '"' + raw.group(1)
            end = text.index(closing, raw.end())
            value = text[raw.end():end].encode()
            if text[index] == "c":
                value += b"\0"
            tokens.append(("str", value, line))
            line += text.count("\n", index, end)
            index = end + len(closing)
            continue
        if char == '"' or (char in "bc" and text.startswith('"', index + 1)):
            start = index + (1 if char == '"' else 2)
            value, end = decode_escaped(text, start, '"')
            if char == "c":
                value += b"\0"
            tokens.append(("str", value, line))
            line += text.count("\n", index, end)
            index = end
            continue
        if char == "b" and text.startswith("'", index + 1):
            index += 1
            char = "'"
        if char == "'":
            if text.startswith("\\", index + 1):
                _, index = decode_escaped(text, index + 1, "'")
                continue
            if index + 2 < length and text[index + 2] == "'":
                index += 3
                continue
            index += 1  # a lifetime: its name follows as an identifier
            continue
        word = IDENT.match(text, index)
        if word:
            tokens.append(("ident", word.group(0), line))
            index = word.end()
            continue
        tokens.append(("punct", char, line))
        index += 1
    return tokens


class Source:
    """One Rust source file: its tokens, its functions' line spans, and helpers to find
    literals."""

    def __init__(self, path):
        with open(path, encoding="utf-8") as handle:
            self.text = handle.read()
        self.tokens = lex(self.text)
        self.functions = self._functions()

    def _functions(self):
        """[(first line, last line, qualified name)] of every function with a body; methods
        are named `Type::method`."""
        spans = []
        stack = []  # (closing punct, kind, name, first line)
        pending = None  # ('fn', name, line, depth) or ('impl', type, line, depth)
        tokens = self.tokens
        index = 0
        while index < len(tokens):
            kind, value, line = tokens[index]
            if kind == "ident" and value == "fn" and index + 1 < len(tokens) and tokens[index + 1][0] == "ident":
                pending = ("fn", tokens[index + 1][1], line, len(stack))
                index += 2
                continue
            if kind == "ident" and value == "impl" and pending is None:
                pending = ("impl", self._impl_type(index), line, len(stack))
            if kind == "punct":
                if value in "([{":
                    if value == "{" and pending and len(stack) == pending[3]:
                        stack.append(("}", pending[0], pending[1], pending[2]))
                        pending = None
                    else:
                        stack.append(({"(": ")", "[": "]", "{": "}"}[value], None, None, line))
                elif value in ")]}":
                    if stack:
                        _, block, name, first = stack.pop()
                        if block == "fn":
                            owner = next((entry[2] for entry in reversed(stack) if entry[1] in ("impl", "fn")), None)
                            owner_kind = next((entry[1] for entry in reversed(stack) if entry[1] in ("impl", "fn")), None)
                            qualified = f"{owner}::{name}" if owner and owner_kind == "impl" else name
                            spans.append((first, line, qualified))
                elif value == ";" and pending and len(stack) == pending[3]:
                    pending = None
            index += 1
        return spans

    def _impl_type(self, index):
        """The self type's name of the `impl` at tokens[index]."""
        tokens = self.tokens
        index += 1
        depth = 0
        candidate = None
        after_for = None
        while index < len(tokens):
            kind, value, _ = tokens[index]
            if kind == "punct" and value == "<":
                depth += 1
            elif kind == "punct" and value == ">":
                depth -= 1
            elif kind == "punct" and value == "{" and depth == 0:
                break
            elif kind == "ident" and depth == 0:
                if value == "for":
                    after_for = None
                    candidate = "for"
                elif value == "where":
                    break
                elif candidate == "for" or after_for is not None:
                    after_for = value
                    candidate = "for-done"
                elif candidate != "for-done":
                    candidate = value
            index += 1
        if after_for:
            return after_for
        return candidate if candidate not in (None, "for", "for-done") else "impl"

    def function_at(self, line):
        """The innermost function whose span holds `line`, or None."""
        best = None
        for first, last, name in self.functions:
            if first <= line <= last and (best is None or last - first < best[1] - best[0]):
                best = (first, last, name)
        return best[2] if best else None

    def span_of(self, name):
        for first, last, qualified in self.functions:
            if qualified == name or qualified.endswith("::" + name):
                return first, last
        return None

    def span_of_const(self, name):
        """The lines of `const NAME ... ;`, or (0, -1)."""
        tokens = self.tokens
        for index, (kind, value, line) in enumerate(tokens):
            if kind == "ident" and value == "const" and index + 1 < len(tokens) and tokens[index + 1][1] == name:
                for kind2, value2, line2 in tokens[index + 2:]:
                    if kind2 == "punct" and value2 == ";":
                        return line, line2
        return 0, -1

    def strings_in(self, first, last):
        return [value for kind, value, line in self.tokens if kind == "str" and first <= line <= last]

    def const_value(self, name):
        """The bytes of `const NAME: ... = <literal or [numbers]>;`, or None."""
        tokens = self.tokens
        for index, (kind, value, _) in enumerate(tokens):
            if kind == "ident" and value == "const" and index + 1 < len(tokens) and tokens[index + 1][1] == name:
                strings = []
                numbers = []
                for kind2, value2, _ in tokens[index + 2:]:
                    if kind2 == "punct" and value2 == ";":
                        break
                    if kind2 == "str":
                        strings.append(value2)
                    elif kind2 == "ident" and value2[0].isdigit():
                        digits = re.match(r"0x[0-9a-fA-F_]+|[0-9_]+", value2).group(0)
                        numbers.append(int(digits.replace("_", ""), 0))
                if strings:
                    return b"".join(strings)
                # `&[u8]` of numbers: the first number is in the type (`[u8; N]` has none here)
                return bytes(number for number in numbers if number < 256) or None
        return None

    def const_strings(self, name):
        """Every literal inside `const NAME ... ;` (e.g. the option names of a table)."""
        tokens = self.tokens
        for index, (kind, value, _) in enumerate(tokens):
            if kind == "ident" and value == "const" and index + 1 < len(tokens) and tokens[index + 1][1] == name:
                out = []
                for kind2, value2, _ in tokens[index + 2:]:
                    if kind2 == "punct" and value2 == ";":
                        return out
                    if kind2 == "str":
                        out.append(value2)
        return []

    def macro_strings(self, macro):
        """The literals of the invocation `macro! { ... }` (not of its definition), in order."""
        tokens = self.tokens
        for index in range(len(tokens) - 2):
            if tokens[index][1] == macro and tokens[index + 1][1] == "!" and tokens[index + 2][1] in "{([":
                if index > 0 and tokens[index - 1][1] == "!":
                    continue
                depth = 0
                out = []
                for kind, value, _ in tokens[index + 2:]:
                    if kind == "punct" and value in "{([":
                        depth += 1
                    elif kind == "punct" and value in "})]":
                        depth -= 1
                        if depth == 0:
                            return out
                    elif kind == "str":
                        out.append(value)
        return []

    def concats(self, version):
        """The values of every `concat!("...", env!("CARGO_PKG_VERSION"), "...")`."""
        tokens = self.tokens
        out = []
        for index in range(len(tokens) - 2):
            if tokens[index][1] == "concat" and tokens[index + 1][1] == "!":
                depth = 0
                value = b""
                position = index + 2
                while position < len(tokens):
                    kind, item, _ = tokens[position]
                    if kind == "punct" and item == "(":
                        depth += 1
                    elif kind == "punct" and item == ")":
                        depth -= 1
                        if depth == 0:
                            break
                    elif kind == "ident" and item == "env":
                        name = tokens[position + 3][1]
                        value += version.encode() if name == b"CARGO_PKG_VERSION" else b""
                        position += 5
                        continue
                    elif kind == "str":
                        value += item
                    position += 1
                out.append(value)
        return out


# --- DWARF line tables -------------------------------------------------------------------------


def uleb(data, index):
    result = shift = 0
    while True:
        byte = data[index]
        index += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return result, index


def sleb(data, index):
    result = shift = 0
    while True:
        byte = data[index]
        index += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            if byte & 0x40:
                result -= 1 << shift
            return result, index


def line_sequences(elf):
    """Every sequence of the `.debug_line` programs as a list of rows (address, file, line);
    the last row of a sequence is its end (file None)."""
    data = elf.contents(".debug_line")
    if not data:
        raise SystemExit(f"ledger.py: {elf.path}: no .debug_line (build it with line tables)")
    sequences = []
    index = 0
    while index < len(data):
        unit_length = struct.unpack_from("<I", data, index)[0]
        index += 4
        if unit_length >= 0xFFFFFFF0:
            raise SystemExit(f"ledger.py: {elf.path}: 64-bit DWARF is not supported")
        end = index + unit_length
        version = struct.unpack_from("<H", data, index)[0]
        index += 2
        if version not in (2, 3, 4):
            raise SystemExit(f"ledger.py: {elf.path}: DWARF line table version {version} is not supported")
        header_length = struct.unpack_from("<I", data, index)[0]
        index += 4
        program = index + header_length
        min_length = data[index]
        index += 1
        if version >= 4:
            index += 1  # maximum operations per instruction (1: not VLIW)
        index += 1  # default_is_stmt
        line_base = struct.unpack_from("<b", data, index)[0]
        line_range = data[index + 1]
        opcode_base = data[index + 2]
        lengths = list(data[index + 3:index + 3 + opcode_base - 1])
        index += 3 + opcode_base - 1
        directories = [""]
        while data[index] != 0:
            stop = data.index(b"\0", index)
            directories.append(data[index:stop].decode())
            index = stop + 1
        index += 1
        files = [None]
        while data[index] != 0:
            stop = data.index(b"\0", index)
            name = data[index:stop].decode()
            index = stop + 1
            directory, index = uleb(data, index)
            _, index = uleb(data, index)
            _, index = uleb(data, index)
            files.append(name if name.startswith("/") else os.path.join(directories[directory], name))
        index = program
        address, file, line = 0, 1, 1
        rows = []
        while index < end:
            opcode = data[index]
            index += 1
            if opcode >= opcode_base:
                adjusted = opcode - opcode_base
                address += (adjusted // line_range) * min_length
                line += line_base + adjusted % line_range
                rows.append((address, files[file] if file < len(files) else None, line))
            elif opcode == 0:
                size, index = uleb(data, index)
                sub = data[index]
                if sub == 1:
                    rows.append((address, None, 0))
                    sequences.append(rows)
                    rows = []
                    address, file, line = 0, 1, 1
                elif sub == 2:
                    address = struct.unpack_from("<Q", data, index + 1)[0]
                index += size
            elif opcode == 1:
                rows.append((address, files[file] if file < len(files) else None, line))
            elif opcode == 2:
                value, index = uleb(data, index)
                address += value * min_length
            elif opcode == 3:
                value, index = sleb(data, index)
                line += value
            elif opcode == 4:
                file, index = uleb(data, index)
            elif opcode == 8:
                address += ((255 - opcode_base) // line_range) * min_length
            elif opcode == 9:
                address += struct.unpack_from("<H", data, index)[0]
                index += 2
            else:
                for _ in range(lengths[opcode - 1]):
                    _, index = uleb(data, index)
        index = end
    return sequences


# --- Measuring ---------------------------------------------------------------------------------


def symbols(path):
    """(address, size, demangled name) of every defined function symbol with a size."""
    out = subprocess.run(["nm", "-C", "-S", "--defined-only", path], check=True, capture_output=True, text=True).stdout
    result = []
    for line in out.splitlines():
        fields = line.split(" ", 3)
        if len(fields) == 4 and fields[2] in "tTwW":
            result.append((int(fields[0], 16), int(fields[1], 16), fields[3]))
    return result


class Sources:
    """The package's Rust sources, parsed on demand."""

    def __init__(self, root):
        self.root = root
        self.cache = {}

    def get(self, relative):
        if relative not in self.cache:
            path = os.path.join(self.root, relative)
            self.cache[relative] = Source(path) if os.path.isfile(path) else None
        return self.cache[relative]


def foreign_label(path, group):
    """A dependency's source file, shortened: `core/src/slice/sort/...`, `rustix/src/...`."""
    normal = os.path.normpath(path)
    for marker in ("/library/", "/rustix-", "/linux-raw-sys-", "/bitflags-"):
        if marker in normal:
            tail = normal.split(marker, 1)[1]
            if marker != "/library/":
                tail = marker.strip("/-") + "/" + tail.split("/", 1)[1]
            return tail
    return f"{group}: {os.path.basename(normal)}"


def inline_chains(path, addresses):
    """{address: [(file, line), ...]}: the inline chain at each address, innermost first
    (`addr2line -i`), from the line-table build's `.debug_info`."""
    if not addresses:
        return {}
    query = "".join(f"{address:#x}\n" for address in addresses)
    out = subprocess.run(["addr2line", "-e", path, "-i", "-a"], input=query, check=True,
                         capture_output=True, text=True).stdout
    chains = {}
    current = None
    for line in out.splitlines():
        if line.startswith("0x"):
            current = chains.setdefault(int(line, 16), [])
            continue
        location = line.split(" (discriminator", 1)[0]
        file, _, number = location.rpartition(":")
        if current is not None and file and file != "??":
            current.append((file, int(number) if number.isdigit() else 0))
    return chains


def measure_lines(elf, sources, root, text_range):
    """Bytes of `.text` by (group, function), by source line. Each line-table row is charged
    to the innermost frame of its inline chain that is not core's: core's generic helpers
    (slice indexing, iterators, `Option` combinators) that LTO inlined into a function of
    ours count as that function's; core code that stayed out of line counts as core's."""
    start, stop = text_range
    rows = []
    for sequence in line_sequences(elf):
        if not sequence or not start <= sequence[0][0] < stop:
            continue  # a function the linker dropped (its sequence starts at 0)
        for (address, file, line), (next_address, _, _) in zip(sequence, sequence[1:]):
            if file is not None and next_address > address:
                rows.append((address, next_address, file, line))
    chains = inline_chains(elf.path, sorted({row[0] for row in rows}))
    functions = defaultdict(int)
    per_row = []
    core_inlined = 0
    for address, next_address, file, line in rows:
        chain = chains.get(address) or [(file, line)]
        chosen = next(((frame_file, frame_line) for frame_file, frame_line in chain
                       if group_of_file(frame_file, root)[0] != "core"), chain[0])
        if group_of_file(chain[0][0], root)[0] == "core" and group_of_file(chosen[0], root)[0] != "core":
            core_inlined += next_address - address
        file, line = chosen
        group, relative = group_of_file(file, root)
        name = None
        if relative:
            source = sources.get(relative)
            name = source.function_at(line) if source and line else None
        if relative:
            if name:
                label = f"{relative}::{name}"
            elif line == 0:
                label = f"{relative} (line 0: code with no source line)"
            else:
                label = f"{relative} (outside functions)"
        else:
            label = foreign_label(file, group)
        functions[(group, label)] += next_address - address
        per_row.append((address, next_address, group))
    return functions, per_row, core_inlined


def find_parts(rodata, parts):
    """Finds each part's literals in `rodata`, each byte claimed once, parts in order.
    Returns [(label, bytes, found, distinct, expected)] and the claimed byte map."""
    claimed = bytearray(len(rodata))
    results = []
    for label, literals, expected in parts:
        distinct = []
        for literal in literals:
            if literal and literal not in distinct:
                distinct.append(literal)
        found = total = 0
        for literal in distinct:
            if len(literal) < 4:
                continue  # too short to tell from other bytes
            position = rodata.find(literal)
            while position >= 0 and any(claimed[position:position + len(literal)]):
                position = rodata.find(literal, position + 1)
            if position < 0:
                continue
            claimed[position:position + len(literal)] = b"\1" * len(literal)
            found += 1
            total += len(literal)
        results.append((label, total, found, len([literal for literal in distinct if len(literal) >= 4]), expected))
    return results, claimed


PRINTABLE = set(range(0x20, 0x7F)) | {0x0A, 0x09}


def measure_binary(name, stripped_path, unstripped_path, lines_path, root, sources, version):
    stripped = Elf(stripped_path)
    lines_elf = Elf(lines_path)
    unstripped = Elf(unstripped_path)
    text = stripped.sections.get(".text", {"size": 0})["size"]
    result = {
        "file": stripped.size,
        "sections": stripped.file_sections(),
        "text": text,
        "same_code": (unstripped.sections[".text"]["size"] == text
                      and lines_elf.sections[".text"]["size"] == text
                      and unstripped.sections[".rodata"]["size"] == stripped.sections[".rodata"]["size"]),
    }
    result["headers"] = stripped.size - sum(size for _, size in result["sections"])

    # The symbol ledger (the unstripped twin).
    by_group = defaultdict(int)
    listed = symbols(unstripped_path)
    for _, size, symbol in listed:
        by_group[group_of_symbol(symbol)] += size
    result["symbols"] = dict(by_group)
    result["symbol_total"] = sum(by_group.values())
    result["symbol_count"] = len(listed)
    main_symbols = [(size, symbol) for _, size, symbol in listed if group_of_symbol(symbol) == "main"]
    main_symbols.sort(reverse=True)
    result["main_symbols"] = main_symbols[:4]

    # The line ledger (the line-table twin: same code, see same_code).
    section = lines_elf.sections[".text"]
    text_range = (section["address"], section["address"] + section["size"])
    functions, rows, core_inlined = measure_lines(lines_elf, sources, root, text_range)
    result["core_inlined"] = core_inlined
    lines_by_group = defaultdict(int)
    for (group, _), size in functions.items():
        lines_by_group[group] += size
    result["lines"] = dict(lines_by_group)
    result["lines_total"] = sum(lines_by_group.values())
    result["functions"] = sorted(([group, label, size] for (group, label), size in functions.items()),
                                 key=lambda item: -item[2])
    # What LTO put into the tool's `main` symbol, by the source of each instruction.
    main_ranges = [(address, address + size) for address, size, symbol in symbols(lines_path)
                   if group_of_symbol(symbol) == "main" and size]
    inlined = defaultdict(int)
    for low, high, group in rows:
        for start, stop in main_ranges:
            overlap = min(high, stop) - max(low, start)
            if overlap > 0:
                inlined[group] += overlap
    result["main_inlined"] = dict(inlined)
    result["main_bytes"] = sum(stop - start for start, stop in main_ranges)

    # Read-only data: the sources' tables and texts, found in .rodata; the packed message
    # templates are statics built at compile time (error/phrases.rs), measured by their symbols.
    rodata = stripped.contents(".rodata")
    messages = sources.get("src/error/messages.rs")
    signal = sources.get("src/signal.rs")
    error = sources.get("src/error.rs")
    options = sources.get("tools/src/cli/options.rs")
    data_symbols = data_symbol_sizes(unstripped_path)
    packed = data_symbols.get("ucw_daemon::error::phrases::PACKED", 0) + \
        data_symbols.get("ucw_daemon::error::phrases::DICTIONARY", 0)
    errno_rs = sources.get("src/text/errno.rs")
    is_tool = name.startswith("multi-call")
    help_texts = []
    verbose_texts = []
    for relative in ("tools/src/main.rs", "tools/src/control.rs", "tools/src/daemonize/mod.rs"):
        tool = sources.get(relative)
        if not tool:
            continue
        help_texts += tool.concats(version)
        say = tool.span_of("say")
        for kind, value, line in tool.tokens:
            if kind != "str":
                continue
            if say and say[0] <= line <= say[1]:
                verbose_texts.append(value)
            else:
                help_texts.append(value)
    describe = options.span_of("describe_into") if options else None
    usage_texts = options.strings_in(*describe) if describe else []
    option_names = []
    for relative, const in (("tools/src/cli/control.rs", "CONTROL_OPTIONS"), ("tools/src/cli/daemonize.rs", "OPTIONS")):
        source = sources.get(relative)
        if source:
            option_names += source.const_strings(const)
    tool_messages = sources.get("tools/src/daemonize/messages.rs")
    tool_words = tool_messages.strings_in(*tool_messages.span_of_const("WORDS")) if tool_messages else []
    parts = [
        ("the described errnos' list (`text/errno.rs`, 44 numbers)",
         [errno_rs.const_value("DESCRIBED_ERRNOS") if errno_rs else None], False),
        ("subject roles (`error.rs`, packed)", [error.const_value("SUBJECT_ROLES")], True),
        ("signal names (`signal.rs`, packed)", [signal.const_value("NAMES")], is_tool or bool(packed)),
        ("the daemonizer's own messages (`daemonize/messages.rs`)", tool_words, False),
        ("help, synopsis, version and other texts of the applets and the dispatch", help_texts, is_tool),
        ("usage-error texts (`cli/options.rs`, `describe_into`)", usage_texts, is_tool),
        ("`--verbose` lines (`say`, `control.rs`)", verbose_texts, False),
        ("option names (the option tables)", option_names, is_tool),
    ]
    found, claimed = find_parts(rodata, parts)
    found.insert(0, ("error templates and errno descriptions (`error/messages.rs`, `text/errno.rs`; packed with "
                     "`error/phrases.rs`' dictionary: `PACKED` and `DICTIONARY`)",
                     packed, 1 if packed else 0, 1, False))
    # Without `messages`, the short lines' message names, five bits a character: a static.
    short_names = data_symbols.get("ucw_daemon::error::messages::NAMES", 0)
    found.insert(1, ("message names (`error/messages.rs`, five bits a character, without the `messages` feature: `NAMES`)",
                     short_names, 1 if short_names else 0, 1, False))
    # The errno names are stored without their leading `E`, five bits a character: a static.
    stems = data_symbols.get("ucw_daemon::text::errno::ERRNO_STEMS", 0)
    found.insert(2, ("errno names (`text/errno.rs`, 133 without their `E`, five bits a character: `ERRNO_STEMS`)",
                     stems, 1 if stems else 0, 1, True))
    rest_strings = rest_other = 0
    run = 0
    for index, byte in enumerate(rodata + b"\1"):
        free = index < len(rodata) and not claimed[index]
        if free and (byte in PRINTABLE or (byte == 0 and run)):
            run += 1
            continue
        if run >= 6:
            rest_strings += run
        else:
            rest_other += run
        run = 0
        if free:
            rest_other += 1
    rest_other -= min(rest_other, packed)  # the packed templates are not printable runs
    rest_strings -= min(rest_strings, stems)  # the errno stems are mostly printable runs
    result["rodata"] = {
        "total": len(rodata),
        "parts": [list(part) for part in found],
        "other_strings": rest_strings,
        "tables": rest_other,
    }
    missing = [label for label, size, count, distinct, expected in found if expected and count == 0]
    result["missing_parts"] = missing

    # Templates the binary carries but cannot render: the messages whose every use lies in
    # functions with no bytes in this binary (only when it carries the templates).
    templates = messages.macro_strings("messages")
    linked = {label for (group, label), size in functions.items() if size}
    unused = []
    if packed:
        for message, template in zip(message_names(messages), templates):
            if not any(f"{relative}::{function}" in linked for relative, function in message_uses(sources, root, message)):
                unused.append((message, len(template) + 1))
    result["unused_templates"] = unused
    result["templates_bytes"] = sum(len(template) + 1 for template in templates) if packed else 0
    result["packed_templates"] = packed
    return result


def data_symbol_sizes(path):
    """{demangled name: size} of the read-only data symbols (statics) of a binary."""
    out = subprocess.run(["nm", "-C", "-S", "--defined-only", path], check=True, capture_output=True, text=True).stdout
    sizes = {}
    for line in out.splitlines():
        fields = line.split(" ", 3)
        if len(fields) == 4 and fields[2] in "rR":
            sizes[fields[3]] = int(fields[1], 16)
    return sizes


def message_names(error):
    """The `Message` variants, in the order of the `messages!` invocation."""
    tokens = error.tokens
    for index in range(len(tokens) - 2):
        if tokens[index][1] == "messages" and tokens[index + 1][1] == "!" and tokens[index + 2][1] == "{" \
                and tokens[index - 1][1] != "!":
            names = []
            depth = 0
            for position in range(index + 2, len(tokens)):
                kind, value, _ = tokens[position]
                if kind == "punct" and value in "{([":
                    depth += 1
                elif kind == "punct" and value in "})]":
                    depth -= 1
                    if depth == 0:
                        return names
                elif kind == "ident" and depth == 1 and tokens[position + 1][1] == "=" \
                        and tokens[position - 1][1] in (";", "{", "]"):
                    names.append(value)
    return []


USES = {}


def message_uses(sources, root, message):
    """(relative file, function) of every `Message::NAME` outside the table itself."""
    if not USES:
        for directory, _, files in os.walk(os.path.join(root, "src")):
            for file in files:
                if not file.endswith(".rs"):
                    continue
                relative = os.path.relpath(os.path.join(directory, file), root)
                source = sources.get(relative)
                tokens = source.tokens
                for index in range(len(tokens) - 3):
                    if tokens[index][1] == "Message" and tokens[index + 1][1] == ":" and tokens[index + 2][1] == ":":
                        function = source.function_at(tokens[index][2])
                        if function:
                            USES.setdefault(tokens[index + 3][1], []).append((relative, function))
    return USES.get(message, [])


def command_measure(arguments):
    root, out = os.path.abspath(arguments[0]), arguments[1]
    version = "0"
    with open(os.path.join(root, "Cargo.toml"), encoding="utf-8") as handle:
        match = re.search(r'^version\s*=\s*"([^"]+)"', handle.read(), re.M)
        if match:
            version = match.group(1)
    sources = Sources(root)
    result = {"binaries": {}, "order": []}
    for spec in arguments[2:]:
        name, paths = spec.split("=", 1)
        stripped, unstripped, lines = paths.split(",")
        result["binaries"][name] = measure_binary(name, stripped, unstripped, lines, root, sources, version)
        result["order"].append(name)
    # Every message: its template's bytes (NUL included) and the files that name it.
    messages = sources.get("src/error/messages.rs")
    result["messages"] = [
        [message, len(template) + 1, sorted({file for file, _ in message_uses(sources, root, message)})]
        for message, template in zip(message_names(messages), messages.macro_strings("messages"))]
    with open(out, "w", encoding="utf-8") as handle:
        json.dump(result, handle, indent=1)


# --- Markdown ----------------------------------------------------------------------------------


def commas(value):
    return f"{value:,}"


def section_ledger(data, _arguments):
    """The ledger by module: symbol bytes and line bytes for each binary."""
    names = data["order"]
    print("| module | " + " | ".join(f"`{name}` symbols | lines" for name in names) + " |")
    print("|---|" + "---:|---:|" * len(names))

    def row(label, values, bold=False):
        cells = []
        for symbol_bytes, line_bytes in values:
            cells.append(commas(symbol_bytes) if symbol_bytes else "·")
            cells.append(commas(line_bytes) if line_bytes else "·")
        if bold:
            cells = [f"**{cell}**" for cell in cells]
            label = f"**{label}**"
        print(f"| {label} | " + " | ".join(cells) + " |")

    def values(groups):
        return [(sum(data["binaries"][name]["symbols"].get(group, 0) for group in groups),
                 sum(data["binaries"][name]["lines"].get(group, 0) for group in groups)) for name in names]

    for group in GROUPS:
        if group == CLI[0]:
            row("cli subtotal (the option scanner and both command lines)", values(CLI), bold=True)
        if group == CONTROL[0]:
            row("control subtotal", values(CONTROL), bold=True)
        row(f"`{group}`" if "::" in group else group, values([group]))
    row("code in symbols / attributed lines", [(data["binaries"][name]["symbol_total"], data["binaries"][name]["lines_total"]) for name in names], bold=True)
    cells = []
    for name in names:
        binary = data["binaries"][name]
        cells.append(f"`.text` {commas(binary['text'])}")
        cells.append("")
    print("| `.text` (the rest: alignment between functions) | " + " | ".join(cells) + " |")


def section_files(data, _arguments):
    """The file, section by section, for each binary."""
    names = data["order"]
    labels = []
    for name in names:
        for label, _ in data["binaries"][name]["sections"]:
            if label not in labels:
                labels.append(label)
    print("| part of the stripped file | " + " | ".join(f"`{name}`" for name in names) + " |")
    print("|---|" + "---:|" * len(names))
    for label in labels:
        cells = [commas(dict(data["binaries"][name]["sections"]).get(label, 0)) for name in names]
        print(f"| `{label}` | " + " | ".join(cells) + " |")
    print("| ELF header, program headers, section table, alignment | " + " | ".join(commas(data["binaries"][name]["headers"]) for name in names) + " |")
    print("| **file** | " + " | ".join(f"**{commas(data['binaries'][name]['file'])}**" for name in names) + " |")


def section_rodata(data, _arguments):
    names = data["order"]
    labels = [part[0] for part in data["binaries"][names[0]]["rodata"]["parts"]]
    print("| `.rodata` part (found in the binary) | " + " | ".join(f"`{name}`" for name in names) + " |")
    print("|---|" + "---:|" * len(names))
    for index, label in enumerate(labels):
        cells = []
        for name in names:
            _, size, found, distinct, _ = data["binaries"][name]["rodata"]["parts"][index]
            if distinct > 1:
                cells.append(f"{commas(size)} ({found} of {distinct} texts)" if size else "·")
            else:
                cells.append(commas(size) if size else "·")
        print(f"| {label} | " + " | ".join(cells) + " |")
    print("| other strings (printable runs of 6+ bytes: paths, names, short texts) | " + " | ".join(commas(data["binaries"][name]["rodata"]["other_strings"]) for name in names) + " |")
    print("| tables and constants (jump tables, lookup arrays, numbers) | " + " | ".join(commas(data["binaries"][name]["rodata"]["tables"]) for name in names) + " |")
    print("| **`.rodata` total** | " + " | ".join(f"**{commas(data['binaries'][name]['rodata']['total'])}**" for name in names) + " |")


def section_inlined(data, _arguments):
    """What LTO inlined into the tools' `main`, by source."""
    names = [name for name in data["order"] if data["binaries"][name]["main_bytes"]]
    print("| source of the instructions inside `main` | " + " | ".join(f"`{name}`" for name in names) + " |")
    print("|---|" + "---:|" * len(names))
    groups = [group for group in GROUPS if any(data["binaries"][name]["main_inlined"].get(group) for name in names)]
    groups.sort(key=lambda group: -sum(data["binaries"][name]["main_inlined"].get(group, 0) for name in names))
    for group in groups:
        cells = [commas(data["binaries"][name]["main_inlined"].get(group, 0)) or "·" for name in names]
        print(f"| `{group}` | " + " | ".join(cell if cell != "0" else "·" for cell in cells) + " |")
    print("| **`main` (its symbols)** | " + " | ".join(f"**{commas(data['binaries'][name]['main_bytes'])}**" for name in names) + " |")


def section_functions(data, arguments):
    """The largest functions by line bytes (inlined copies included) of one binary."""
    name, count = arguments[0], int(arguments[1])
    print("| bytes | function (source) | module |")
    print("|---:|---|---|")
    for group, label, size in data["binaries"][name]["functions"][:count]:
        print(f"| {commas(size)} | `{label}` | {group} |")


def value(data, arguments):
    """One number from the JSON, by path (`binaries.NAME.lines.GROUP`, `...functions:PATTERN`),
    for the report's sentences."""
    path = arguments[0]
    name, rest = path.split(".", 1)
    binary = data["binaries"][name]
    if rest.startswith("lines:") or rest.startswith("symbols:"):
        table, groups = rest.split(":", 1)
        return sum(binary[table].get(group, 0) for group in groups.split("+"))
    if rest.startswith("functions:"):
        patterns = rest[len("functions:"):].split("+")
        # A pattern matches a label it is part of; one ending in `$` only a label it ends.
        return sum(size for _, label, size in binary["functions"]
                   if any(label.endswith(pattern[:-1]) if pattern.endswith("$") else pattern in label
                          for pattern in patterns))
    if rest.startswith("rodata:"):
        prefixes = rest[len("rodata:"):].split("+")
        return sum(part[1] for part in binary["rodata"]["parts"] if any(part[0].startswith(prefix) for prefix in prefixes))
    if rest.startswith("templates_only:"):
        files = set(rest[len("templates_only:"):].split("+"))
        return sum(size for _, size, used in data["messages"] if used and set(used) <= files)
    if rest == "unused_templates":
        return sum(size for _, size in binary["unused_templates"])
    if rest == "unused_template_count":
        return len(binary["unused_templates"])
    if rest in ("file", "text", "symbol_total", "lines_total", "main_bytes", "templates_bytes", "core_inlined"):
        return binary[rest]
    if rest == "rodata":
        return binary["rodata"]["total"]
    if rest == "same_code":
        return int(binary["same_code"])
    if rest == "missing_parts":
        return "; ".join(binary["missing_parts"])
    raise SystemExit(f"ledger.py: unknown value {path}")


def section_value(data, arguments):
    print(value(data, arguments))


SECTIONS = {
    "ledger": section_ledger,
    "files": section_files,
    "rodata": section_rodata,
    "inlined": section_inlined,
    "functions": section_functions,
    "value": section_value,
}


def main():
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    if sys.argv[1] == "measure":
        command_measure(sys.argv[2:])
    elif sys.argv[1] == "sections" and len(sys.argv) == 4:
        base, full = dict(Elf(sys.argv[2]).file_sections()), dict(Elf(sys.argv[3]).file_sections())
        changes = [(full.get(label, 0) - base.get(label, 0), label) for label in sorted(set(base) | set(full))]
        changes = sorted((change for change in changes if abs(change[0]) >= 16), reverse=True)
        print(", ".join(f"`{label}` {'+' if change > 0 else '−'}{commas(abs(change))}" for change, label in changes))
    elif sys.argv[1] == "markdown":
        with open(sys.argv[2], encoding="utf-8") as handle:
            data = json.load(handle)
        SECTIONS[sys.argv[3]](data, sys.argv[4:])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
