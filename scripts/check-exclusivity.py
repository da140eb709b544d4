#!/usr/bin/env python3
"""Rejects code whose memory accesses the compiler could not prove exclusive.

Swift's exclusivity rule (no access to a variable overlaps a modification of it) is
what keeps an `inout` or a `modify` from writing through a stale address. The compiler
enforces it statically where it can and marks every other access `[dynamic]` for a
run-time check; Embedded Swift compiles that check away. So the build checks instead:
in the optimized SIL of a module, every dynamic access must carry
`[no_nested_conflict]`, the optimizer's proof that nothing running inside the access
can touch the same storage. Then no run-time check could ever fail, and dropping them
costs nothing. docs/EXCLUSIVITY.md gives the argument and what it assumes.

Give it the SIL of a module twice: as optimized for the object file, and with the
passes switched off that forward, move or delete loads, stores and objects (the
Makefile's EXCLUSIVITY_KEEP_ACCESSES): they may leave an overlapping access unused, and
an unused access is deleted before the optimizer has judged it.

Usage: check-exclusivity.py FILE.sil...   (exit status 1 if an access is rejected)
"""
import os
import re
import subprocess
import sys

RULE = "exclusivity: a dynamic access that may overlap another"

HOW_TO_FIX = """\
How to fix: Embedded Swift does not check exclusivity at run time, so a domain may keep an
access to a class property, a global or a captured variable open only across code that
provably cannot reach the same storage. Inside the access, do not call a closure, an
unknown or external function (a proxy call into another domain, a kernel call), a method
that may reach the object again, and do not let a value with a deinit be dropped:
  - copy out, call, write back:  var copy = object.items; update(&copy); object.items = copy
  - take an old value out before it is dropped:  var old = replacement; swap(&object.kept, &old)
    (`old` is dropped after the access has ended)
  - pass the object, not `&object.property`, to code that may call back into it.
See docs/EXCLUSIVITY.md."""

# Where a value that is read or written through an access comes from; the first operand
# is the address it projects from.
PROJECTIONS = {
    "struct_element_addr", "tuple_element_addr", "begin_access", "mark_uninitialized",
    "unchecked_addr_cast", "index_addr", "tail_addr", "mark_dependence", "init_enum_data_addr",
    "unchecked_take_enum_data_addr", "open_existential_addr", "init_existential_addr",
    "copyable_to_moveonlywrapper_addr", "moveonlywrapper_to_copyable_addr",
    "mark_unresolved_non_copyable_value", "drop_deinit", "begin_borrow", "load_borrow",
    "copy_value", "move_value", "upcast", "unchecked_ref_cast", "end_init_let_ref",
    "end_cow_mutation", "struct_extract", "tuple_extract", "unchecked_enum_data",
}
CALLS = {"apply", "try_apply", "begin_apply"}
DROPS = {"strong_release", "release_value", "destroy_value", "destroy_addr", "release_value_addr",
         "unowned_release"}


def strip_comment(line):
    """The line without its trailing `// ...` comment (a `//` inside a string stays)."""
    quoted = False
    for i, c in enumerate(line):
        if c == '"' and (i == 0 or line[i - 1] != "\\"):
            quoted = not quoted
        elif not quoted and line.startswith("//", i):
            return line[:i].rstrip()
    return line.rstrip()


class Instruction:
    RESULT = re.compile(r"^\s*(?:(%\w+)|\(([^)]*)\))\s*=\s*")
    LOC = re.compile(r', loc \*? ?"([^"]*)":(\d+):(\d+)')
    SCOPE = re.compile(r", scope (\d+)")

    def __init__(self, text):
        self.text = text
        self.results = []
        body = text.strip()
        m = self.RESULT.match(text)
        if m:
            self.results = [m.group(1)] if m.group(1) else re.findall(r"%\w+", m.group(2))
            body = text[m.end():].strip()
        self.opcode = body.split(" ", 1)[0]
        self.rest = body[len(self.opcode):].strip()
        loc = self.LOC.search(text)
        self.loc = (loc.group(1), int(loc.group(2)), int(loc.group(3))) if loc else None
        scope = self.SCOPE.search(text)
        self.scope = int(scope.group(1)) if scope else None

    def operands(self):
        return re.findall(r"%\w+", self.rest.split(", loc ")[0])


class Function:
    def __init__(self, name):
        self.name = name
        self.blocks = []  # (label, [Instruction])
        self.defs = {}  # value -> Instruction, or ("argument", type text)


class SILFile:
    HEADER = re.compile(r"^sil\b.*?@([^\s:]+) : ")
    BLOCK = re.compile(r"^(bb\d+)(?:\((.*)\))?:")
    SCOPE = re.compile(r"^sil_scope (\d+) \{\s*(.*)\}\s*$")

    def __init__(self, path):
        self.path = path
        self.functions = []
        self.scopes = {}  # id -> (loc or None, parent, inlined_at or None)
        function = None
        with open(path, encoding="utf-8", errors="replace") as f:
            for raw in f:
                line = raw.rstrip("\n")
                if function is None:
                    header = self.HEADER.match(line)
                    if header and line.rstrip().endswith("{"):
                        function = Function(header.group(1))
                        self.functions.append(function)
                        continue
                    scope = self.SCOPE.match(line)
                    if scope:
                        self.add_scope(int(scope.group(1)), scope.group(2))
                    continue
                if line.startswith("} // end sil function"):
                    function = None
                    continue
                code = strip_comment(line)
                if not code.strip():
                    continue
                block = self.BLOCK.match(code)
                if block:
                    function.blocks.append((block.group(1), []))
                    arguments = block.group(2) or ""
                    starts = list(re.finditer(r"(%\w+) : ", arguments))
                    for k, arg in enumerate(starts):
                        end = starts[k + 1].start() if k + 1 < len(starts) else len(arguments)
                        function.defs[arg.group(1)] = ("argument", arguments[arg.end():end])
                    continue
                if not function.blocks:
                    continue  # effect annotations printed before the first block
                instruction = Instruction(code)
                function.blocks[-1][1].append(instruction)
                for result in instruction.results:
                    function.defs[result] = instruction

    def add_scope(self, ident, body):
        loc = re.match(r'loc \*? ?"([^"]*)":(\d+):(\d+)', body)
        parent = re.search(r"parent (\d+|@[^\s:]+)", body)
        inlined = re.search(r"inlined_at (\d+)\s*$", body)
        self.scopes[ident] = (
            (loc.group(1), int(loc.group(2)), int(loc.group(3))) if loc else None,
            parent.group(1) if parent else None,
            int(inlined.group(1)) if inlined else None,
        )

    def enclosing(self, scope):
        """`scope` and the lexical scopes around it, innermost first."""
        seen = set()
        while scope in self.scopes and scope not in seen:
            seen.add(scope)
            yield scope, self.scopes[scope]
            parent = self.scopes[scope][1]
            scope = int(parent) if parent and parent.isdigit() else None

    def call_site(self, instruction, function):
        """Where the code of `instruction` sits in `function`'s own source: the outermost
        call site it was inlined at, or its own location."""
        outer = instruction.loc
        scope, hops = instruction.scope, 0
        while scope is not None and hops < 64:
            hops += 1
            inlined = next((i for _, (_, _, i) in self.enclosing(scope) if i is not None), None)
            if inlined is None:
                break
            outer = next((loc for _, (loc, _, _) in self.enclosing(inlined) if loc), outer)
            scope = inlined
        if outer is None:
            outer = next((loc for _, (loc, _, _) in self.enclosing(instruction.scope) if loc), None)
        if outer is None:  # compiler-generated code: the function's own declaration
            outer = next((loc for loc, parent, _ in self.scopes.values()
                          if parent == "@" + function.name and loc), None)
        return outer


def storage_of(function, value, depth=0):
    """What an address projects from, in words (`Holder.items`, a global, a box)."""
    definition = function.defs.get(value)
    if definition is None or depth > 40:
        return "storage the checker cannot name"
    if isinstance(definition, tuple):
        kind = definition[1]
        if "{ var" in kind or "{ let" in kind:
            return "a local variable captured by a closure"
        return "an inout argument" if "$*" in kind else "an argument"
    op, rest = definition.opcode, definition.rest
    if op == "ref_element_addr":
        field = re.search(r"#([\w.]+)", rest)
        return field.group(1) if field else "a class property"
    if op == "global_addr":
        name = re.search(r"@([^\s:,]+)", rest)
        return "global " + demangle(name.group(1)) if name else "a global"
    if op in ("project_box", "alloc_box"):
        return "a local variable captured by a closure"
    if op == "ref_tail_addr":
        return "the elements stored in a class instance"
    if op == "pointer_to_address":
        return "memory reached through a pointer"
    if op in ("alloc_stack",):
        return "a local variable"
    if op in PROJECTIONS:
        operands = definition.operands()
        if operands:
            return storage_of(function, operands[0], depth + 1)
    return "storage the checker cannot name"


def callee_of(function, instruction):
    operands = instruction.operands()
    if not operands:
        return "an unknown function"
    definition = function.defs.get(operands[0])
    if isinstance(definition, Instruction):
        if definition.opcode in ("function_ref", "dynamic_function_ref", "prev_dynamic_function_ref"):
            name = re.search(r"@([^\s:,]+)", definition.rest)
            if not name:
                return "a function"
            pretty = demangle(name.group(1))
            # A C declaration (`@_extern(c)`): its body is not Swift the optimizer can see.
            return f"the C function {pretty[6:]}" if pretty.startswith("@objc ") else pretty
        if definition.opcode in ("class_method", "super_method", "witness_method", "objc_method"):
            return "a method chosen at run time"
    return "a closure or function value"


def inside_access(sil, function, start_block, start_index, access):
    """The calls, drops and yields on some path from `access` to its end_access."""
    blocks = dict(function.blocks)
    order = [label for label, _ in function.blocks]
    found, seen_blocks = [], set()
    work = [(order[start_block], start_index + 1)]
    while work and len(found) < 12:
        label, index = work.pop()
        instructions = blocks[label]
        ended = False
        for instruction in instructions[index:]:
            if instruction.opcode in ("end_access", "end_unpaired_access") and access in instruction.operands()[:1]:
                ended = True
                break
            what = None
            if instruction.opcode in CALLS:
                what = f"a call to {callee_of(function, instruction)}"
            elif instruction.opcode in DROPS:
                what = "a value dropped here (its deinit may run)"
            elif instruction.opcode == "store" and "[assign]" in instruction.rest:
                what = "an assignment that drops the old value (its deinit may run)"
            elif instruction.opcode == "copy_addr" and "[init]" not in instruction.rest:
                what = "an assignment that drops the old value (its deinit may run)"
            elif instruction.opcode == "yield":
                what = "a yield (the caller runs while the access is open)"
            elif instruction.opcode in ("begin_access", "begin_unpaired_access"):
                what = f"another access to {storage_of(function, instruction.operands()[0])}"
            if what:
                where = sil.call_site(instruction, function)
                found.append((what, where))
        if ended or not instructions:
            continue
        terminator = instructions[-1]
        for successor in re.findall(r"\bbb\d+\b", terminator.rest):
            if successor not in seen_blocks and successor in blocks:
                seen_blocks.add(successor)
                work.append((successor, 0))
    def rank(item):
        what = item[0]
        if what == f"another access to {storage_of(function, access)}":
            return 0
        if "closure or function value" in what or "chosen at run time" in what:
            return 1
        if what.startswith("a yield"):
            return 2
        if "deinit" in what:
            return 3
        # The standard library's own helpers come last: they explain least.
        return 5 if re.match(r"a call to (specialized )?_", what) else 4
    unique = []
    for item in sorted(found, key=rank):
        if item not in unique:
            unique.append(item)
    return unique[:3]


_demangled = {}


def demangle(name):
    return _demangled.get(name, name)


def demangle_all(names):
    names = [n for n in set(names) if n not in _demangled]
    if not names:
        return
    tool = os.path.join(os.environ.get("SWIFT_BIN", "/opt/swift/usr/bin"), "swift-demangle")
    try:
        out = subprocess.run([tool, "--simplified"], input="\n".join(names) + "\n",
                             capture_output=True, text=True, timeout=60).stdout.splitlines()
    except OSError:
        out = []
    for name, pretty in zip(names, out):
        _demangled[name] = pretty.strip() or name


def where(loc):
    return f"{loc[0]}:{loc[1]}:{loc[2]}" if loc else "<compiler-generated>"


def check(sil):
    """(findings, dynamic accesses, those proven free of nested conflicts) for one SIL
    file. A finding is (location, what, function name, notes)."""
    demangle_all([f.name for f in sil.functions])
    names = []
    for function in sil.functions:
        for _, instructions in function.blocks:
            for instruction in instructions:
                if instruction.opcode in ("function_ref", "global_addr"):
                    m = re.search(r"@([^\s:,]+)", instruction.rest)
                    if m:
                        names.append(m.group(1))
    demangle_all(names)

    findings, dynamic, proven = [], 0, 0
    for function in sil.functions:
        for block_index, (_, instructions) in enumerate(function.blocks):
            for index, instruction in enumerate(instructions):
                op, rest = instruction.opcode, instruction.rest
                attributes = set(re.findall(r"\[(\w+)\]", rest.split("%", 1)[0]))
                problem = None
                if op == "begin_access":
                    if "dynamic" in attributes:
                        dynamic += 1
                        proven += "no_nested_conflict" in attributes
                        if "no_nested_conflict" not in attributes:
                            problem = "the optimizer could not prove that nothing inside it reaches the same storage"
                    elif "unsafe" in attributes or "unknown" in attributes:
                        problem = "its exclusivity is not enforced at all"
                elif op == "begin_unpaired_access":
                    if attributes & {"dynamic", "unsafe", "unknown"}:
                        problem = "an unpaired access (a key path, a coroutine or a builtin) is never analysed"
                elif op == "builtin" and re.match(r'"(beginUnpaired\w*Access|performInstantaneousReadAccess)"', rest):
                    problem = "an access begun by a builtin is never analysed"
                if problem is None:
                    continue
                kind = next((k for k in ("modify", "read", "init", "deinit") if k in attributes), "access")
                address = instruction.operands()[0] if instruction.operands() else None
                storage = storage_of(function, address) if address else "storage the checker cannot name"
                site = sil.call_site(instruction, function)
                notes = []
                if instruction.loc and site and instruction.loc != site:
                    notes.append(f"the access is at {where(instruction.loc)}, inlined here")
                notes.extend(f"inside the access: {what} at {where(at)}"
                             for what, at in (inside_access(sil, function, block_index, index,
                                                            instruction.results[0])
                                              if instruction.results else []))
                findings.append((site, f"{RULE} ({kind} of {storage}; {problem})",
                                 demangle(function.name), notes))
    return findings, dynamic, proven


def main(argv):
    paths = argv[1:]
    if not paths or any(p.startswith("-") for p in paths):
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    reported, rejected = {}, 0
    for path in paths:
        findings, dynamic, proven = check(SILFile(path))
        print(f"exclusivity: {os.path.basename(path)}: {dynamic} dynamic accesses, "
              f"{proven} proven free of nested conflicts")
        for site, what, function, notes in findings:
            key = (site, what, function)
            if key in reported:
                reported[key][1].append(path)
                continue
            reported[key] = (notes, [path])
    for (site, what, function), (notes, paths_seen) in reported.items():
        rejected += 1
        print(f"{where(site)}: error: {what} in {function}")
        for note in notes:
            print(f"  note: {note}")
        print(f"  note: found in {', '.join(os.path.basename(p) for p in paths_seen)}")
    if rejected:
        print(f"exclusivity: {rejected} access{'es' if rejected != 1 else ''} rejected.")
        print(HOW_TO_FIX)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
