"""Tests of scripts/lint-domains.py, the build's check that domain code is safe Swift.

The fixture unsafe_domain/ is a deliberately unsafe domain: each file holds forbidden
constructs at known lines, and Clean.swift mentions them only in comments and strings.
The compiler tests show the other half of invariant 1: strict memory checking rejects
an unacknowledged raw pointer read, but accepts everything the lint exists to reject.

Run with `python3 -m pytest -q tests/lint`.
"""
import os
import re
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LINT = os.path.join(ROOT, "scripts", "lint-domains.py")
FIXTURE = os.path.join("tests", "lint", "unsafe_domain")
SWIFTC = os.path.join(os.environ.get("SWIFT_BIN", "/opt/swift/usr/bin"), "swiftc")
DOMAIN_FLAGS = ["-target", "x86_64-unknown-none-elf", "-enable-experimental-feature", "Embedded",
                "-parse-as-library", "-wmo", "-swift-version", "6",
                "-strict-memory-safety", "-Werror", "StrictMemorySafety"]
FINDING = re.compile(r"^(?P<path>.+?):(?P<line>\d+):(?P<column>\d+): error: (?P<what>.+?) "
                     r"is not allowed in domain code \((?P<why>.+)\)$")

UNSAFE = "the `unsafe` marker"
REGEX = "a regex literal"

EXPECTED = {
    ("PointerPeek.swift", 3, "`UnsafePointer`"),

    ("AcknowledgedPeek.swift", 3, "`UnsafePointer`"),
    ("AcknowledgedPeek.swift", 4, UNSAFE),

    ("Attributes.swift", 3, "`@unsafe`"),
    ("Attributes.swift", 6, "`@safe`"),
    ("Attributes.swift", 9, "`@unchecked`"),
    ("Attributes.swift", 13, "`nonisolated(unsafe)`"),
    ("Attributes.swift", 16, "`unowned(unsafe)`"),
    ("Attributes.swift", 17, UNSAFE),
    ("Attributes.swift", 20, "`@preconcurrency`"),
    ("Attributes.swift", 24, "`@exclusivity`"),

    ("Imports.swift", 6, "`import Foundation`"),
    ("Imports.swift", 7, "`import _Volatile`"),
    ("Imports.swift", 8, "`import Synchronization`"),
    ("Imports.swift", 9, "`import Swift`"),
    ("Imports.swift", 10, "`@_implementationOnly`"),
    ("Imports.swift", 11, "`@_exported`"),
    ("Imports.swift", 12, "`@testable`"),
    ("Imports.swift", 13, "`@preconcurrency`"),
    ("Imports.swift", 14, "`@_spi`"),
    ("Imports.swift", 15, "`import Glibc`"),

    ("Interpolation.swift", 3, "`UnsafePointer`"),
    ("Interpolation.swift", 4, UNSAFE),
    ("Interpolation.swift", 5, UNSAFE),
    ("Interpolation.swift", 6, UNSAFE),
    ("Interpolation.swift", 9, UNSAFE),
    ("Interpolation.swift", 12, UNSAFE),

    ("LexerTricks.swift", 5, "`UnsafePointer`"),
    ("LexerTricks.swift", 7, REGEX),
    ("LexerTricks.swift", 9, UNSAFE),
    ("LexerTricks.swift", 11, REGEX),
    ("LexerTricks.swift", 14, REGEX),
    ("LexerTricks.swift", 18, UNSAFE),
    ("LexerTricks.swift", 20, REGEX),
    ("LexerTricks.swift", 28, "the backquoted name `a/*b`"),
    ("LexerTricks.swift", 29, "`UnsafePointer`"),
    ("LexerTricks.swift", 29, UNSAFE),
    ("LexerTricks.swift", 29, "the backquoted name `a/*b`"),

    ("Stdlib.swift", 5, "`unsafeBitCast`"),
    ("Stdlib.swift", 6, "`unsafelyUnwrapped`"),
    ("Stdlib.swift", 7, "`unsafeDowncast`"),
    ("Stdlib.swift", 8, "`Unmanaged`"),
    ("Stdlib.swift", 9, "`OpaquePointer`"),
    ("Stdlib.swift", 10, "`withUnsafeBytes`"),
    ("Stdlib.swift", 11, "`UnsafeRawPointer`"),
    ("Stdlib.swift", 11, "`assumingMemoryBound`"),
    ("Stdlib.swift", 12, "`UnsafeMutableRawPointer`"),
    ("Stdlib.swift", 12, "`bindMemory`"),
    ("Stdlib.swift", 13, "`uncheckedBounds`"),
    ("Stdlib.swift", 14, "`_unsafeReferenceCast`"),
    ("Stdlib.swift", 18, "`unsafeAddress`"),

    ("Underscored.swift", 3, "`@_silgen_name`"),
    ("Underscored.swift", 6, "`@_extern`"),
    ("Underscored.swift", 9, "`@_cdecl`"),
    ("Underscored.swift", 12, "`@c`"),
    ("Underscored.swift", 15, "`@_section`"),
    ("Underscored.swift", 15, "`@_used`"),
    ("Underscored.swift", 18, "`@_unsafeInheritExecutor`"),

    ("Reserved.swift", 4, "a declaration named `SwiftletLib`"),
    ("Reserved.swift", 5, "a declaration named `Swift`"),
    ("Reserved.swift", 6, "a declaration named `SwiftletInterfaces`"),
    ("Reserved.swift", 7, "a declaration named `_Greeter_greet_Arguments`"),
    ("Reserved.swift", 8, "a declaration named `_swiftletService`"),
    ("Reserved.swift", 9, "a declaration named `swiftletExport_Greeter_ping`"),
    ("Reserved.swift", 10, "a declaration named `_hidden`"),
    ("Reserved.swift", 11, "a declaration named `Registers`"),
    ("Reserved.swift", 12, "`#sourceLocation`"),
    ("Reserved.swift", 13, "`RRefTransfer`"),
    ("Reserved.swift", 14, "`InterfaceHandle`"),
    ("Reserved.swift", 15, "`#sourceLocation`"),
}


def lint(*args):
    return subprocess.run([sys.executable, LINT, *args], cwd=ROOT, capture_output=True, text=True, timeout=60)


def findings(result):
    """(file name, line, construct) of every finding; fails on a line of any other form."""
    found = set()
    for line in result.stdout.splitlines():
        if line.startswith("lint-domains: "):
            continue
        match = FINDING.match(line)
        assert match, f"not a finding: {line!r}"
        found.add((os.path.basename(match["path"]), int(match["line"]), match["what"]))
    return found


def lint_source(tmp_path, source, name="Probe.swift"):
    path = tmp_path / name
    path.write_bytes(source.encode() if isinstance(source, str) else source)
    result = lint(str(path))
    return result, sorted((line, what) for _, line, what in findings(result))


# ---- The unsafe domain ----------------------------------------------------------------

def test_unsafe_domain_reports_every_construct_at_its_line():
    result = lint(FIXTURE)
    assert result.returncode == 1, result.stdout + result.stderr
    found = findings(result)
    assert found - EXPECTED == set(), "reported but not expected"
    assert EXPECTED - found == set(), "expected but not reported"
    assert "71 unsafe constructs in 10 files" in result.stderr


def test_findings_name_the_column():
    result = lint(os.path.join(FIXTURE, "AcknowledgedPeek.swift"))
    assert result.stdout.splitlines()[1].startswith(
        os.path.join(FIXTURE, "AcknowledgedPeek.swift") + ":4:10: error: the `unsafe` marker is not allowed "
        "in domain code (")


def test_words_in_comments_and_strings_are_not_code():
    result = lint(os.path.join(FIXTURE, "Clean.swift"))
    assert (result.returncode, result.stdout) == (0, "lint-domains: 1 files, no unsafe constructs\n")


def test_code_in_interpolations_is_checked_and_text_around_it_is_not():
    found = findings(lint(os.path.join(FIXTURE, "Interpolation.swift")))
    assert {line for _, line, what in found if what == UNSAFE} == {4, 5, 6, 9, 12}
    assert not {line for _, line, _ in found} & {7, 8, 10, 11, 13}


# ---- Trust, and what the real tree does -----------------------------------------------

def test_trusted_files_are_skipped(tmp_path):
    trusted = tmp_path / "TRUSTED"
    trusted.write_text("# fixtures trusted for this test only\n"
                       f"{FIXTURE}/Stdlib.swift\n"
                       f"{FIXTURE}/Under*.swift  # a glob, with a comment\n")
    result = lint("--trusted", str(trusted), FIXTURE)
    assert result.returncode == 1
    files = {name for name, _, _ in findings(result)}
    assert files == {name for name, _, _ in EXPECTED} - {"Stdlib.swift", "Underscored.swift"}
    assert "in 8 files" in result.stderr


@pytest.mark.parametrize("pattern", [f"{FIXTURE}/**", FIXTURE, "tests/**/unsafe_domain"])
def test_a_trusted_folder_covers_everything_beneath_it(tmp_path, pattern):
    (tmp_path / "TRUSTED").write_text(pattern + "\n")
    result = lint("--trusted", str(tmp_path / "TRUSTED"), FIXTURE)
    assert (result.returncode, result.stdout) == (0, "lint-domains: 0 files, no unsafe constructs\n")


def test_a_symlink_into_a_trusted_folder_is_not_trusted(tmp_path):
    # The build compiles domains/alias/*.swift as a domain, whatever the folder links to.
    (tmp_path / "domains" / "lib").mkdir(parents=True)
    shutil.copy(os.path.join(ROOT, FIXTURE, "AcknowledgedPeek.swift"), tmp_path / "domains" / "lib")
    (tmp_path / "domains" / "alias").symlink_to("lib")
    (tmp_path / "domains" / "lib" / "loop").symlink_to("..")
    (tmp_path / "TRUSTED").write_text("domains/lib/**\n")
    result = lint("--trusted", str(tmp_path / "TRUSTED"), "--root", str(tmp_path), str(tmp_path / "domains"))
    assert result.returncode == 1
    assert {path for path, _, _ in findings(result)} == {"AcknowledgedPeek.swift"}
    assert "alias" + os.sep + "AcknowledgedPeek.swift:4:10:" in result.stdout
    assert "in 1 files" in result.stderr


@pytest.mark.parametrize("pattern", ["**", "*/lib/**", "/work/domains/lib", "domains/../tests/**"])
def test_trust_is_granted_to_named_folders_only(tmp_path, pattern):
    (tmp_path / "TRUSTED").write_text(pattern + "\n")
    result = lint("--trusted", str(tmp_path / "TRUSTED"), FIXTURE)
    assert result.returncode == 2
    assert "trust is granted to named folders" in result.stderr


def test_an_empty_directory_passes(tmp_path):
    result = lint(str(tmp_path))
    assert (result.returncode, result.stdout) == (0, "lint-domains: 0 files, no unsafe constructs\n")


def test_a_missing_path_is_a_usage_error(tmp_path):
    assert lint(str(tmp_path / "nowhere")).returncode == 2


def test_the_repository_domains_pass():
    result = lint("domains")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.endswith("files, no unsafe constructs\n")


def test_the_trusted_file_lists_the_trusted_places():
    with open(os.path.join(ROOT, "domains", "TRUSTED")) as f:
        text = f.read()
    patterns = [re.sub(r"\s#.*", "", line).strip() for line in text.splitlines()
                if line.strip() and not line.startswith("#")]
    assert "domains/lib/RRef.swift" in patterns
    assert "domains/lib/DomainCall.swift" in patterns
    assert "build/generated/**" in patterns
    assert "ONE place" in text
    # Files, not folders: what needs no unsafe construct is linted like a domain.
    assert not [p for p in patterns if p.startswith("domains/") and "*" in p]


@pytest.mark.parametrize("path", ["domains/lib/registers", "domains/lib/virtio", "domains/lib/CallStatus.swift",
                                  "domains/lib/RpcError.swift", "domains/lib/device/MMIOWindow.swift"])
def test_safe_library_code_is_linted_and_passes(path):
    result = lint("--trusted", os.path.join(ROOT, "domains", "TRUSTED"), path)
    assert result.returncode == 0, result.stdout
    assert not result.stdout.startswith("lint-domains: 0 files")


def test_every_trusted_file_needs_its_trust(tmp_path):
    """Each file the trust list names has something the lint would reject: no entry is spare."""
    with open(os.path.join(ROOT, "domains", "TRUSTED")) as f:
        patterns = [re.sub(r"\s#.*", "", line).strip() for line in f
                    if line.strip() and not line.startswith("#")]
    (tmp_path / "TRUSTED").write_text("")
    for pattern in patterns:
        if "*" in pattern or not os.path.exists(os.path.join(ROOT, pattern)):
            continue
        result = lint("--trusted", str(tmp_path / "TRUSTED"), pattern)
        assert result.returncode == 1, f"{pattern} passes the lint without trust"


# ---- The lexer: what is code, what is not ---------------------------------------------

@pytest.mark.parametrize("source, expected", [
    # A lone carriage return ends a line comment for the compiler, so it does here.
    ("// text\runsafe f()\r", [(2, UNSAFE)]),
    ("// text\r\nunsafe f()\r\n", [(2, UNSAFE)]),
    ("/* a /* nested */ unsafe */ let x = 1\n", []),
    ("/* a /* nested */ unsafe\n", [(1, "an unterminated block comment")]),
    ('let s = "unsafe\nunsafe f()\n', [(1, "an unterminated string literal"), (2, UNSAFE)]),
    ('let s = "\\(unsafe f()) \\"unsafe\\" \\\\"\n', [(1, UNSAFE)]),
    ('let s = ##"a"#, \\#(unsafe), \\##(unsafe f())"##\n', [(1, UNSAFE)]),
    ('let s = """ unsafe\n"""\n', [(1, 'text after an opening """')]),
    ("let s = 'a'\n", [(1, "a single-quoted string")]),
    # The compiler skips a #! line in a main file only; a domain has no main file.
    ("#!/* script\nunsafe f()\n// */\n", [(1, "a `#!` line"), (2, UNSAFE)]),
    ("\ufeffunsafe f()\n", [(1, UNSAFE)]),
    (b"let s = \"\xff\"\n", [(1, "a file that is not UTF-8")]),
    # Names are whole tokens: a prefix matters, a word inside a name does not.
    ("let isUnsafeMode = safeCount + unsafeness\n", [(1, "`unsafeness`")]),
    ("let `default` = `unsafeBitCast`\n", [(1, "`unsafeBitCast`")]),
    # Where the compiler might end a name early (at a non-ASCII character), the lint checks both.
    ("let a = x.`import`, b = Unmanagedé\n", [(1, "`Unmanaged`")]),
    ("let a = b / c / 2, d = e/f/2, g = (h)/i/2\n", []),
    ("let g = (h) /i/ 2\n", [(1, REGEX)]),
    ("let a = [1].map { _ in /x/ }\nreturn/y/\n", [(1, REGEX), (2, REGEX)]),
    ("let m = #externalMacro(module: \"M\", type: \"T\")\n", [(1, "`#externalMacro`")]),
    ("@_noAllocation @inline(__always) @discardableResult func f() {}\n", [(1, "`@_noAllocation`")]),
    # Reserved names are checked where they are declared, not where they are used.
    ("enum `Swift` {}\nlet a = Swift.Int.max\n", [(1, "a declaration named `Swift`")]),
    ("let (a, (b, _c)) = (1, (2, 3))\nfor _ in 0..<a {}\n", [(1, "a declaration named `_c`")]),
    ("protocol SwiftletThing {}\nstruct P { static func swiftletMake() {} }\n",
     [(1, "a declaration named `SwiftletThing`"), (2, "a declaration named `swiftletMake`")]),
    ("switch x { case let _y: break }\n", [(1, "a declaration named `_y`")]),
    ("let swift = 1, swiftly = Swift.max(1, 2)\nx.let = 2\n", []),
    ("#sourceLocation(file: \"a.swift\", line: 1)\n#sourceLocation()\n",
     [(1, "`#sourceLocation`"), (2, "`#sourceLocation`")]),
    ("let s = \"#sourceLocation\" // #sourceLocation\n", []),
    ('let s = "\\(f(")")) unsafe"\n', []),
    ('let s = "\\(f(1 /* ) */)) \\(unsafe g())"\n', [(1, UNSAFE)]),
])
def test_lexing(tmp_path, source, expected):
    result, found = lint_source(tmp_path, source)
    assert found == sorted(expected), result.stdout
    assert result.returncode == (1 if expected else 0)


# ---- The compiler half: what -strict-memory-safety catches, and what it lets through ---

needs_swiftc = pytest.mark.skipif(not shutil.which(SWIFTC), reason=f"{SWIFTC} not found")


def typecheck(name):
    return subprocess.run([SWIFTC, *DOMAIN_FLAGS, "-typecheck", os.path.join(FIXTURE, name)],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)


@needs_swiftc
def test_compiler_rejects_an_unacknowledged_raw_pointer_read():
    result = typecheck("PointerPeek.swift")
    assert result.returncode != 0
    assert (os.path.join(FIXTURE, "PointerPeek.swift") + ":4:10: error: expression uses unsafe constructs "
            "but is not marked with 'unsafe' [#StrictMemorySafety]") in result.stderr


@needs_swiftc
@pytest.mark.parametrize("name", ["AcknowledgedPeek.swift", "Attributes.swift", "Interpolation.swift",
                                  "LexerTricks.swift"])
def test_compiler_accepts_what_the_lint_rejects(name):
    compiled = typecheck(name)
    assert compiled.returncode == 0, compiled.stderr
    assert lint(os.path.join(FIXTURE, name)).returncode == 1


@needs_swiftc
def test_the_clean_file_is_real_swift():
    compiled = typecheck("Clean.swift")
    assert compiled.returncode == 0, compiled.stderr
