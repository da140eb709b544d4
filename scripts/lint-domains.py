#!/usr/bin/env python3
"""Rejects, in domain code, the unsafe constructs that strict memory checking lets through.

    lint-domains.py [--trusted domains/TRUSTED] [--root DIR] PATH...

PATHs are Swift files or directories (searched recursively for *.swift). Every
forbidden construct is reported as `path:line:column: error: ...`; the exit status
is 1 if there is any, 0 if there is none, 2 for a usage error. Files matched by a
pattern in the trusted file (domains/TRUSTED, the one place trust is granted) are
skipped.

Domains are isolated by Swift's memory safety alone (DESIGN.md, invariant 1). The
compiler's `-strict-memory-safety -Werror StrictMemorySafety` rejects unacknowledged
uses of unsafe APIs, but it accepts the acknowledgement itself (the `unsafe`
marker) and declarations it does not consider unsafe at all (`@_silgen_name`,
`@unchecked Sendable`, ...). This lint rejects those; the compiler does the rest.

What is reported:
- the `unsafe` marker, `unowned(unsafe)`, `nonisolated(unsafe)`;
- names, matched as whole tokens (backquoted or not), that start with one of
  FORBIDDEN_PREFIXES: unsafe, Unsafe, withUnsafe, unchecked, ... and their
  underscored forms. That covers raw pointer types, `unsafeBitCast`,
  `unsafelyUnwrapped`, `unsafeDowncast`, `unsafeAddress`, `withUnsafeBytes`,
  `Range(uncheckedBounds:)`. Also the names in FORBIDDEN_NAMES: `Unmanaged`,
  `OpaquePointer`, `assumingMemoryBound`, `bindMemory`, ... Any other name is fine:
  `isUnsafeMode` and `safeCount` are;
- the attributes in ATTRIBUTES (`@unsafe`, `@safe`, `@c`, `@unchecked`,
  `@preconcurrency`, `@testable`, `@exclusivity`) and every underscored attribute
  (`@_silgen_name`, `@_extern`, `@_cdecl`, `@_implementationOnly`, `@_exported`,
  `@_unsafeInheritExecutor`, ...), the compiler's internal escape hatches;
- `import` of anything but SwiftletInterfaces, SwiftletLib, Packets (the network
  protocols) and the device-access libraries (Registers, Virtio, E1000, DeviceAccess);
- `#externalMacro`: a macro plugin writes code this lint never sees;
- `#sourceLocation`: it makes the compiler's diagnostics (and debug information) name
  another file and line, so a report about this code could point into trusted code;
- a declaration (type, typealias, function, variable) with a reserved name: named like
  a module a domain links with (RESERVED_MODULES), or starting with `_` or with
  `swiftlet`/`Swiftlet`. The generated glue compiled in the domain's module qualifies
  every name by its module and names its own things that way; a domain declaration
  named like that would take their place.

The lint works on tokens, not on text, so that a word in a comment or a string is
never reported while code inside a string interpolation always is. The lexer follows
the compiler's: `//` and nested `/* */` comments, "..." strings with `\\(...)`
interpolations, multi-line \"\"\" strings, raw #"..."# strings with `\\#(...)`
interpolations, backquoted identifiers. Where it cannot be sure to read source the
way the compiler does, it reports an error instead of guessing: a lexer that can be
made to see a comment where the compiler sees code would let anything through (in an
inactive `#if` block, the compiler reads `/a\\/*b/` as a regex literal, not as the
start of a comment). So regex literals, single-quoted strings, a `#!` line, unclosed
comments and strings, and backquoted names holding other than identifier characters
are errors too.
"""
import argparse
import bisect
import os
import re
import sys
from typing import NamedTuple

ALLOWED_IMPORTS = frozenset(
    {"SwiftletInterfaces", "SwiftletLib", "Packets", "Registers", "Virtio", "E1000",
     "DeviceAccess"})

POINTER_HINT = "use Span, InlineArray, an RRef or an API of SwiftletLib; raw pointers live in domains/lib"
BINDING_HINT = "it reinterprets raw memory as another type; that belongs in a trusted library in domains/lib"

# Modules a domain's code or its generated glue refers to by name (`Swift.UInt64`,
# `SwiftletLib.fillExportTable`): a type of the same name in the domain would win.
RESERVED_MODULES = frozenset({
    "Swift", "SwiftletLib", "SwiftletInterfaces", "Packets", "Registers", "Virtio", "E1000",
    "DeviceAccess",
    "Synchronization", "_Concurrency", "_StringProcessing", "_Volatile", "_Builtin_float",
    "SwiftShims", "Builtin"})
# Keywords that declare the name that follows them.
DECLARATION_KEYWORDS = frozenset({
    "struct", "class", "enum", "protocol", "actor", "typealias", "associatedtype", "func",
    "var", "let", "macro"})
RESERVED_HINT = "reserved for the generated glue compiled with the domain"
RAW_REFERENCE_HINT = ("the trusted library's raw form of a reference; generated proxies carry "
                      "it, domain code uses the RRef or the proxy")

FORBIDDEN_NAMES = {
    "RRefTransfer": RAW_REFERENCE_HINT,
    "InterfaceHandle": RAW_REFERENCE_HINT,
    "Unmanaged": "manual reference counting can free an object that is still in use",
    "OpaquePointer": "a raw pointer type; " + POINTER_HINT,
    "AutoreleasingUnsafeMutablePointer": "a raw pointer type; " + POINTER_HINT,
    "CVaListPointer": "a raw pointer type; " + POINTER_HINT,
    "assumingMemoryBound": BINDING_HINT,
    "bindMemory": BINDING_HINT,
    "withMemoryRebound": BINDING_HINT,
    "withContiguousStorageIfAvailable": "it hands out a raw buffer pointer; " + POINTER_HINT,
    "withContiguousMutableStorageIfAvailable": "it hands out a raw buffer pointer; " + POINTER_HINT,
    "withUTF8": "it hands out a raw buffer pointer; iterate over `utf8` instead",
    "withCString": "it hands out a raw pointer; iterate over `utf8` instead",
    "withVaList": "it hands out a raw pointer to C varargs",
    "getVaList": "it hands out a raw pointer to C varargs",
    "Builtin": "the compiler's raw primitives are for the standard library only",
}

FORBIDDEN_PREFIXES = (
    ("withUnsafe", "it hands out a raw pointer; " + POINTER_HINT),
    ("_withUnsafe", "it hands out a raw pointer; " + POINTER_HINT),
    ("withUnprotectedUnsafe", "it hands out a raw pointer; " + POINTER_HINT),
    ("_withUnprotectedUnsafe", "it hands out a raw pointer; " + POINTER_HINT),
    ("Unsafe", "an unsafe type; " + POINTER_HINT),
    ("_Unsafe", "an unsafe type; " + POINTER_HINT),
    ("unsafe", "an unsafe API: nothing checks its preconditions; trusted code in domains/lib may use it"),
    ("_unsafe", "an unsafe API: nothing checks its preconditions; trusted code in domains/lib may use it"),
    ("unchecked", "an API that skips a safety check"),
    ("Unchecked", "an API that skips a safety check"),
    ("_unchecked", "an API that skips a safety check"),
    ("_Unchecked", "an API that skips a safety check"),
)

LINKAGE_HINT = "entry points and foreign symbols are generated glue or live in domains/lib"
IMPORT_HINT = ("a domain imports SwiftletInterfaces, SwiftletLib and Packets, and a driver the device-access "
               "libraries (Registers, Virtio, E1000, DeviceAccess), plainly, and nothing else")

ATTRIBUTES = {
    "unsafe": "it declares something unsafe, which only trusted code may define",
    "safe": "it claims that code using unsafe types is safe; only trusted code may make that claim",
    "c": LINKAGE_HINT,
    "_silgen_name": "it binds a declaration to any symbol, unchecked; " + LINKAGE_HINT,
    "_extern": "it declares a foreign function with an unchecked signature; " + LINKAGE_HINT,
    "_cdecl": LINKAGE_HINT,
    "_section": "it places data in a linker section of the domain's choosing",
    "_used": "it keeps a symbol the domain does not reference",
    "_implementationOnly": IMPORT_HINT,
    "_exported": IMPORT_HINT,
    "_spi": "it opens a library's system-programming interface; " + IMPORT_HINT,
    "testable": "it opens a module's internal declarations; " + IMPORT_HINT,
    "_unsafeInheritExecutor": "an unchecked concurrency claim; data races break memory safety",
    "unchecked": "an unchecked concurrency claim (`@unchecked Sendable`); data races break memory safety",
    "preconcurrency": "it silences Sendable checking; data races break memory safety",
    "exclusivity": "`@exclusivity(unchecked)` turns off exclusive-access checks",
}
UNDERSCORED_ATTRIBUTE_HINT = "underscored attributes are compiler-internal escape hatches"
UNREADABLE_HINT = "the lint cannot tell code from text after it"
REGEX_HINT = "Embedded Swift has no Regex, and the lint could misread what follows"

# Words after which a `/` begins an expression, so the compiler may read a regex literal.
KEYWORDS = frozenset("""
    as any await borrowing case catch consume consuming copy default defer discard do each
    else fallthrough for guard if in inout is let repeat return some switch then throw try
    unsafe var where while yield
""".split())


# The compiler's identifier characters (lib/Parse/Lexer.cpp), beyond ASCII.
_IDENT_RANGES = (
    (0x00A8, 0x00A8), (0x00AA, 0x00AA), (0x00AD, 0x00AD), (0x00AF, 0x00AF),
    (0x00B2, 0x00B5), (0x00B7, 0x00BA), (0x00BC, 0x00BE), (0x00C0, 0x00D6),
    (0x00D8, 0x00F6), (0x00F8, 0x00FF), (0x0100, 0x167F), (0x1681, 0x180D),
    (0x180F, 0x1FFF), (0x200B, 0x200D), (0x202A, 0x202E), (0x203F, 0x2040),
    (0x2054, 0x2054), (0x2060, 0x206F), (0x2070, 0x218F), (0x2460, 0x24FF),
    (0x2776, 0x2793), (0x2C00, 0x2DFF), (0x2E80, 0x2FFF), (0x3004, 0x3007),
    (0x3021, 0x302F), (0x3031, 0x303F), (0x3040, 0xD7FF), (0xF900, 0xFD3D),
    (0xFD40, 0xFDCF), (0xFDF0, 0xFE44), (0xFE47, 0xFFFD),
    *((plane, plane + 0xFFFD) for plane in range(0x10000, 0xF0000, 0x10000)),
)
_IDENT_RANGE_STARTS = [lo for lo, _ in _IDENT_RANGES]
_NOT_INITIAL_RANGES = ((0x0300, 0x036F), (0x1DC0, 0x1DFF), (0x20D0, 0x20FF), (0xFE20, 0xFE2F))


def is_ident_char(c):
    if c < "\x80":
        return c.isalnum() or c in "_$"
    cp = ord(c)
    k = bisect.bisect_right(_IDENT_RANGE_STARTS, cp) - 1
    return k >= 0 and cp <= _IDENT_RANGES[k][1]


def is_ident_start(c):
    if c < "\x80":
        return c.isalpha() or c == "_"
    cp = ord(c)
    return is_ident_char(c) and not any(lo <= cp <= hi for lo, hi in _NOT_INITIAL_RANGES)


WHITESPACE = " \t\n\r\0\v\f"


class Token(NamedTuple):
    kind: str  # "ident", "punct", "number" or "string"
    text: str
    pos: int
    end: int
    quoted: bool = False  # a `backquoted` identifier


class Finding(NamedTuple):
    pos: int
    what: str
    why: str


class Lexer:
    """Splits Swift source into tokens, dropping comments and the text of strings."""

    def __init__(self, source):
        self.s = source
        self.i = 0
        self.tokens = []
        self.findings = []

    def problem(self, pos, what, why):
        self.findings.append(Finding(pos, what, why))

    def emit(self, kind, start, text=None, quoted=False):
        self.tokens.append(Token(kind, self.s[start:self.i] if text is None else text, start, self.i, quoted))

    def run(self):
        if self.s.startswith("#!"):
            self.problem(0, "a `#!` line", "domain files are library code, not scripts")
            self.skip_line()
        self.code(interpolation_start=None)
        return self.tokens, self.findings

    def skip_line(self):
        while self.i < len(self.s) and self.s[self.i] not in "\r\n":
            self.i += 1

    def code(self, interpolation_start):
        """Lexes code up to the end of input, or up to the `)` closing an interpolation."""
        s = self.s
        depth = 0
        while self.i < len(s):
            c = s[self.i]
            start = self.i
            if c in WHITESPACE:
                self.i += 1
            elif s.startswith("//", start):
                self.skip_line()
            elif s.startswith("/*", start):
                self.block_comment()
            elif c == "`":
                self.backquoted()
            elif c == "#":
                hashes = 1
                while start + hashes < len(s) and s[start + hashes] == "#":
                    hashes += 1
                after = s[start + hashes] if start + hashes < len(s) else ""
                if after == '"':
                    self.string(start, hashes)
                elif after == "/":
                    self.extended_regex(start, hashes)
                else:
                    self.i += 1
                    self.emit("punct", start)
            elif c == '"':
                self.string(start, 0)
            elif c == "'":
                self.problem(start, "a single-quoted string", "Swift strings use double quotes")
                self.string(start, 0, quote="'")
            elif c == "/" and self.bare_regex(start):
                pass
            elif is_ident_start(c) or (c == "$" and start + 1 < len(s) and is_ident_char(s[start + 1])):
                self.i += 1
                while self.i < len(s) and is_ident_char(s[self.i]):
                    self.i += 1
                self.emit("ident", start)
            elif c.isdigit():
                self.i += 1
                while self.i < len(s) and (s[self.i].isalnum() or s[self.i] == "_" or (
                        s[self.i] == "." and self.i + 1 < len(s) and s[self.i + 1].isdigit())):
                    self.i += 1
                self.emit("number", start)
            else:
                self.i += 1
                if c == "(":
                    depth += 1
                elif c == ")":
                    if interpolation_start is not None and depth == 0:
                        return
                    depth -= 1
                self.emit("punct", start)
        if interpolation_start is not None:
            self.problem(interpolation_start, "an unterminated string interpolation", UNREADABLE_HINT)

    def block_comment(self):
        s = self.s
        start = self.i
        self.i += 2
        depth = 1
        while self.i < len(s):
            if s.startswith("*/", self.i):
                self.i += 2
                depth -= 1
                if depth == 0:
                    return
            elif s.startswith("/*", self.i):
                self.i += 2
                depth += 1
            else:
                self.i += 1
        self.problem(start, "an unterminated block comment", UNREADABLE_HINT)

    def backquoted(self):
        s = self.s
        start = self.i
        end = start + 1
        while end < len(s) and s[end] not in "`\r\n":
            end += 1
        if end >= len(s) or s[end] != "`" or end == start + 1:
            self.i += 1
            self.emit("punct", start)
            return
        name = s[start + 1:end]
        self.i = end + 1
        if not all(is_ident_char(c) for c in name):
            self.problem(start, f"the backquoted name {s[start:self.i]}",
                         "backquoted names may hold identifier characters only; "
                         "others can hide code from this lint")
        self.emit("ident", start, text=name, quoted=True)

    def string(self, start, hashes, quote='"'):
        """Lexes a string opened at `start` by `hashes` #s and a quote; its interpolations are code."""
        s = self.s
        self.i = start + hashes
        multiline = quote == '"' and s.startswith('"""', self.i)
        if multiline:
            self.i += 3
            rest = self.i
            while rest < len(s) and s[rest] in " \t":
                rest += 1
            if rest < len(s) and s[rest] not in "\r\n":
                self.problem(start, 'text after an opening """',
                             "a multi-line string begins on the line after its delimiter")
        else:
            self.i += 1
        self.emit("string", start)
        close = ('"""' if multiline else quote) + "#" * hashes
        escape = "\\" + "#" * hashes
        while True:
            if self.i >= len(s) or (not multiline and s[self.i] in "\r\n"):
                self.problem(start, "an unterminated string literal", UNREADABLE_HINT)
                return
            if s.startswith(close, self.i):
                self.i += len(close)
                return
            if s.startswith(escape, self.i):
                self.i += len(escape)
                if self.i < len(s) and s[self.i] == "(":
                    self.i += 1
                    self.code(interpolation_start=self.i - len(escape) - 1)
                elif self.i < len(s) and (multiline or s[self.i] not in "\r\n"):
                    self.i += 2 if s.startswith("\r\n", self.i) else 1
                continue
            self.i += 1

    def bare_regex(self, start):
        """Reports and skips a `/.../` the compiler may read as a regex literal; False if it cannot."""
        s = self.s
        if start + 1 >= len(s) or s[start + 1] in WHITESPACE:
            return False
        before = s[start - 1] if start > 0 else "\n"
        if is_ident_char(before) or before in ")]}":
            last = self.tokens[-1] if self.tokens else None
            if not (last and last.end == start and last.kind == "ident" and not last.quoted
                    and last.text in KEYWORDS):
                return False
        end = start + 1
        while end < len(s) and s[end] not in "\r\n/":
            end += 2 if s[end] == "\\" and end + 1 < len(s) and s[end + 1] not in "\r\n" else 1
        if end >= len(s) or s[end] != "/":
            return False
        self.problem(start, "a regex literal", REGEX_HINT)
        self.i = end + 1
        self.emit("string", start)
        return True

    def extended_regex(self, start, hashes):
        """Reports a `#/.../#` regex literal and skips it the way the compiler would."""
        s = self.s
        self.problem(start, "a regex literal", REGEX_HINT)
        close = "/" + "#" * hashes
        body = start + hashes + 1
        multiline = s.startswith("\n", body) or s.startswith("\r", body)
        end = body
        while end < len(s) and not s.startswith(close, end) and (multiline or s[end] not in "\r\n"):
            end += 2 if s[end] == "\\" and end + 1 < len(s) else 1
        if s.startswith(close, end):
            self.i = end + len(close)
            self.emit("string", start)
        else:
            self.i = start + 1
            self.emit("punct", start)


def identifier_rule(name):
    """(what, why) if the identifier `name` is forbidden, else None."""
    if name == "unsafe":
        return ("the `unsafe` marker",
                "it acknowledges unsafe code that strict memory checking would reject; "
                "such code belongs in a trusted library in domains/lib")
    if name in FORBIDDEN_NAMES:
        return (f"`{name}`", FORBIDDEN_NAMES[name])
    for prefix, why in FORBIDDEN_PREFIXES:
        if name.startswith(prefix):
            return (f"`{name}`", why)
    return None


def name_rule(name):
    """identifier_rule for `name` and for each prefix of it that ends before a non-ASCII character.

    The compiler may end an identifier at a non-ASCII character this lexer counts
    as part of it, so `Unmanaged` followed by such a character is checked too."""
    for form in [name] + [name[:k] for k, c in enumerate(name) if k and c >= "\x80"]:
        rule = identifier_rule(form)
        if rule:
            return rule
    return None


def check_tokens(tokens):
    findings = []
    consumed = set()  # tokens already reported as part of a larger construct

    def report(token, what, why):
        findings.append(Finding(token.pos, what, why))

    def at(k):
        return tokens[k] if 0 <= k < len(tokens) else Token("none", "", -1, -1)

    def punct(k, text):
        return at(k).kind == "punct" and at(k).text == text

    for k, tok in enumerate(tokens):
        if punct(k, "@") and at(k + 1).kind == "ident":
            name = at(k + 1).text
            consumed.add(k + 1)
            if name in ATTRIBUTES:
                report(tok, f"`@{name}`", ATTRIBUTES[name])
                if punct(k + 2, "(") and punct(k + 4, ")"):
                    consumed.add(k + 3)  # the argument of @exclusivity(unchecked) says nothing new
            elif name.startswith("_"):
                report(tok, f"`@{name}`", UNDERSCORED_ATTRIBUTE_HINT)
            else:
                rule = name_rule(name)
                if rule:
                    report(tok, f"`@{name}`", rule[1])
        elif punct(k, "#") and at(k + 1).text == "externalMacro" and at(k + 1).pos == tok.end:
            consumed.add(k + 1)
            report(tok, "`#externalMacro`", "a macro plugin writes code that this lint never sees")
        elif punct(k, "#") and at(k + 1).text == "sourceLocation" and at(k + 1).pos == tok.end:
            consumed.add(k + 1)
            report(tok, "`#sourceLocation`",
                   "it makes diagnostics name another file and line, which could be trusted code")
        elif tok.kind == "ident" and tok.text == "unsafe" and not tok.quoted and k not in consumed \
                and punct(k - 1, "(") and at(k - 2).text in ("unowned", "nonisolated") and punct(k + 1, ")"):
            consumed.add(k)
            owner = at(k - 2)
            why = ("an unchecked reference can dangle; use `weak` or plain `unowned`"
                   if owner.text == "unowned" else
                   "it switches off data-race checking; data races break memory safety")
            report(owner, f"`{owner.text}(unsafe)`", why)
        elif tok.kind == "ident" and tok.text == "import" and not tok.quoted \
                and not any(punct(k - 1, p) for p in ".(,") and not punct(k + 1, ":"):  # not a label
            j = k + 1
            if at(j).kind == "ident" and at(j).text in ("typealias", "struct", "class", "enum", "protocol",
                                                         "let", "var", "func") \
                    and at(j + 1).kind == "ident":
                j += 1
            module = at(j)
            if module.kind != "ident" or module.text not in ALLOWED_IMPORTS:
                named = f"`import {module.text}`" if module.kind == "ident" else "this `import`"
                report(tok, named, IMPORT_HINT)
        if tok.kind == "ident" and not tok.quoted and tok.text in DECLARATION_KEYWORDS \
                and not punct(k - 1, ".") and at(k - 1).text != "import":
            for name in declared_names(tokens, k + 1):
                why = reserved_name_rule(name.text)
                if why:
                    consumed.add(tokens.index(name))
                    report(name, f"a declaration named `{name.text}`", why)
        if tok.kind == "ident" and k not in consumed:
            rule = name_rule(tok.text)
            if rule:
                report(tok, *rule)
    return findings


def declared_names(tokens, k):
    """The names a declaration keyword at k - 1 declares: the identifier after it, or for
    `let (a, b)` the identifiers of the tuple pattern. Another keyword there (`class
    func`, `case let`) declares nothing itself."""
    if k >= len(tokens):
        return []
    tok = tokens[k]
    if tok.kind == "ident" and (tok.quoted or tok.text not in KEYWORDS | DECLARATION_KEYWORDS):
        return [tok]
    if tok.kind == "punct" and tok.text == "(":
        names, depth = [], 0
        for t in tokens[k:]:
            if t.kind == "punct" and t.text in "([":
                depth += 1
            elif t.kind == "punct" and t.text in ")]":
                depth -= 1
                if depth == 0:
                    break
            elif t.kind == "ident" and (t.quoted or t.text not in KEYWORDS):
                names.append(t)
        return names
    return []


def reserved_name_rule(name):
    """Why `name` may not be declared in domain code, or None."""
    if name in RESERVED_MODULES:
        return ("it is named like a module, and would take that module's place in the generated "
                "glue's qualified names (`Swift.UInt64`, `SwiftletLib.fillExportTable`)")
    if name.startswith("_") and name != "_":
        return "names starting with `_` are " + RESERVED_HINT
    if name.lower().startswith("swiftlet"):
        return "names starting with `swiftlet` are " + RESERVED_HINT
    return None


def lint_source(source):
    """Every forbidden construct in Swift `source`, as Findings in source order."""
    if source.startswith("\ufeff"):
        source = " " + source[1:]  # keeps columns; the compiler skips a byte-order mark
    tokens, findings = Lexer(source).run()
    seen = set()
    unique = []
    for f in sorted(findings + check_tokens(tokens), key=lambda f: f.pos):
        if (f.pos, f.what) not in seen:
            seen.add((f.pos, f.what))
            unique.append(f)
    return unique


def line_starts(source):
    starts = [0]
    for m in re.finditer(r"\r\n|\r|\n", source):
        starts.append(m.end())
    return starts


def lint_file(path):
    """(line, column, what, why) of every forbidden construct in the file at `path`."""
    with open(path, "rb") as f:
        data = f.read()
    results = []
    try:
        source = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        results.append((line, 1, "a file that is not UTF-8", "the compiler reads sources as UTF-8"))
        source = data.decode("utf-8", errors="replace")
    starts = line_starts(source)
    for f in lint_source(source):
        line = bisect.bisect_right(starts, f.pos)
        results.append((line, f.pos - starts[line - 1] + 1, f.what, f.why))
    return sorted(results)


class TrustList:
    """The patterns of the trusted file: paths or globs relative to the repository root."""

    def __init__(self, path, root):
        self.root = os.path.abspath(root)
        self.patterns = []
        with open(path, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                pattern = re.sub(r"(^|\s)#.*", "", line).strip()
                if not pattern:
                    continue
                parts = pattern.split("/")
                if pattern.startswith("/") or ".." in parts or any(c in parts[0] for c in "*?["):
                    raise ValueError(f"{path}:{number}: trust is granted to named folders under the "
                                     f"repository root only: {pattern!r}")
                self.patterns.append(glob_regex(pattern.rstrip("/")))

    def covers(self, path):
        """True if `path` or a folder above it matches a pattern."""
        rel = os.path.relpath(os.path.abspath(path), self.root).replace(os.sep, "/")
        if rel.startswith("../"):
            return False
        parts = rel.split("/")
        candidates = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
        return any(p.fullmatch(c) for p in self.patterns for c in candidates)


def glob_regex(pattern):
    """`**` spans folders, `*` and `?` stay within one path component."""
    out = []
    k = 0
    while k < len(pattern):
        if pattern.startswith("**/", k):
            out.append("(?:.*/)?")
            k += 3
        elif pattern.startswith("**", k):
            out.append(".*")
            k += 2
        elif pattern[k] == "*":
            out.append("[^/]*")
            k += 1
        elif pattern[k] == "?":
            out.append("[^/]")
            k += 1
        else:
            out.append(re.escape(pattern[k]))
            k += 1
    return re.compile("".join(out))


def swift_files(paths):
    """The files named, and the *.swift files under the folders named.

    Symlinks are followed and each file keeps the path it was reached by, since that
    is the path the build compiles and trust is decided on; only a loop is cut."""
    def walk(folder, ancestors):
        real = os.path.realpath(folder)
        if real in ancestors:
            return
        for entry in sorted(os.scandir(folder), key=lambda e: e.name):
            if entry.is_dir():
                yield from walk(entry.path, ancestors | {real})
            elif entry.name.endswith(".swift") and entry.is_file():
                yield entry.path

    for path in paths:
        if os.path.isdir(path):
            yield from walk(path, frozenset())
        elif os.path.exists(path):
            yield path
        else:
            raise FileNotFoundError(path)


def main(argv=None):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trusted", help="the trusted file (default: domains/TRUSTED under the root)")
    parser.add_argument("--root", default=root,
                        help="what trusted patterns are relative to (default: the repository)")
    parser.add_argument("paths", nargs="+", metavar="PATH")
    args = parser.parse_args(argv)
    try:
        trust = TrustList(args.trusted or os.path.join(args.root, "domains", "TRUSTED"), args.root)
        files = [f for f in swift_files(args.paths) if not trust.covers(f)]
    except (OSError, ValueError) as e:
        print(f"lint-domains: {e}", file=sys.stderr)
        return 2
    errors = 0
    for path in files:
        for line, column, what, why in lint_file(path):
            print(f"{path}:{line}:{column}: error: {what} is not allowed in domain code ({why})")
            errors += 1
    if errors:
        print(f"lint-domains: {errors} unsafe constructs in {len(files)} files", file=sys.stderr)
        return 1
    print(f"lint-domains: {len(files)} files, no unsafe constructs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
