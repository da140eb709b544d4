"""Tests of scripts/check-exclusivity.py, the build's check that no dynamic access in
domain code can overlap another (docs/EXCLUSIVITY.md).

The fixtures in exclusivity/ are compiled as domain code is (the Makefile's flags, from
`make -s exclusivity-flags`) into SIL twice, as optimized and with the access-deleting
passes off, and checked the way the build checks a module. Rejected.swift holds one
exclusivity violation on each line marked `reject`; Accepted.swift ordinary use of class
properties; ProxyCall.swift an access held across a call into another domain (it imports
the domain-side SwiftletInterfaces, which the test has make build).

Run with `python3 -m pytest -q tests/lint`.
"""
import os
import re
import shlex
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHECK = os.path.join(ROOT, "scripts", "check-exclusivity.py")
FIXTURES = os.path.join("tests", "lint", "exclusivity")
SWIFTC = os.path.join(os.environ.get("SWIFT_BIN", "/opt/swift/usr/bin"), "swiftc")
FINDING = re.compile(r"^(?P<path>[^:\s]+):(?P<line>\d+):(?P<column>\d+): error: "
                     r"exclusivity: a dynamic access that may overlap another \((?P<what>.+)\) "
                     r"in (?P<function>.+)$")
SUMMARY = re.compile(r"^exclusivity: (?P<file>\S+): (?P<dynamic>\d+) dynamic accesses, "
                     r"(?P<proven>\d+) proven free of nested conflicts$")


@pytest.fixture(scope="session")
def flags():
    """The domain flags and the switch that keeps accesses, as the build uses them."""
    out = subprocess.run(["make", "-s", "exclusivity-flags"], cwd=ROOT, capture_output=True,
                         text=True, timeout=120, check=True).stdout.splitlines()
    assert len(out) == 2 and "Embedded" in out[0] and "sil-disable-pass" in out[1]
    return shlex.split(out[0]), shlex.split(out[1])


def emit_sil(flags, module, source, directory):
    """The module's SIL as optimized and with dead accesses kept: two paths."""
    domain_flags, keep = flags
    paths = []
    for name, extra in ((f"{module}.sil", []), (f"{module}.kept.sil", keep)):
        path = os.path.join(directory, name)
        result = subprocess.run([SWIFTC, *domain_flags, "-module-name", module, source, "-emit-sil",
                                 "-Xllvm", "-sil-print-debuginfo", *extra, "-o", path],
                                cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
        paths.append(path)
    return paths


def check(*paths):
    return subprocess.run([sys.executable, CHECK, *paths], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


def findings(result):
    return [m.groupdict() for m in map(FINDING.match, result.stdout.splitlines()) if m]


def marked(source):
    with open(os.path.join(ROOT, source)) as f:
        return {number for number, line in enumerate(f, 1) if line.rstrip().endswith("// reject")}


@pytest.fixture(scope="session")
def rejected(flags, tmp_path_factory):
    source = os.path.join(FIXTURES, "Rejected.swift")
    return source, emit_sil(flags, "Rejected", source, tmp_path_factory.mktemp("rejected"))


def test_every_violation_is_rejected_where_it_is_written_and_nothing_else(rejected):
    source, sil = rejected
    result = check(*sil)
    assert result.returncode == 1, result.stdout + result.stderr
    found = findings(result)
    assert {f["path"] for f in found} == {source}
    assert sorted(int(f["line"]) for f in found) == sorted(marked(source))
    assert len(marked(source)) >= 10
    assert "How to fix" in result.stdout and "docs/EXCLUSIVITY.md" in result.stdout


def test_a_rejection_names_the_storage_the_function_and_what_overlaps(rejected):
    _, sil = rejected
    result = check(*sil)
    by_function = {f["function"]: f for f in findings(result)}
    assert "modify of Holder.items" in by_function["localHolderAttack()"]["what"]
    assert "modify of Keeper.token" in by_function["Keeper.replace(_:)"]["what"]
    assert "a local variable captured by a closure" in by_function["capturedVariableAttack()"]["what"]
    # The coroutine's caller is named, and the reason is pointed at.
    assert "modify of Yielding.storage" in by_function["coroutineAttack(_:)"]["what"]
    assert re.search(r"note: inside the access: another access to Holder.items at "
                     r"tests/lint/exclusivity/Rejected.swift:\d+:\d+", result.stdout)


def test_the_optimized_sil_alone_misses_the_attack_on_a_local_object(rejected):
    # Why the build reads the SIL twice: with the holder a local object, the optimizer
    # deletes both accesses (the callee's store is dead) and keeps the write into the
    # freed array, so the optimized SIL has no marker left to reject.
    source, (optimized, kept) = rejected
    with open(os.path.join(ROOT, source)) as f:
        attack = next(n for n, line in enumerate(f, 1) if "&holder.items[0])  // reject" in line)
    assert attack not in {int(f["line"]) for f in findings(check(optimized))}
    assert attack in {int(f["line"]) for f in findings(check(kept))}


def test_ordinary_use_of_class_properties_is_accepted(flags, tmp_path):
    sil = emit_sil(flags, "Accepted", os.path.join(FIXTURES, "Accepted.swift"), tmp_path)
    result = check(*sil)
    assert result.returncode == 0, result.stdout
    summaries = [m.groupdict() for m in map(SUMMARY.match, result.stdout.splitlines()) if m]
    assert len(summaries) == 2
    for summary in summaries:
        assert int(summary["dynamic"]) > 5 and summary["proven"] == summary["dynamic"]


def test_an_access_held_across_a_call_into_another_domain_is_rejected(flags, tmp_path):
    built = subprocess.run(["make", "-s", "build/domains/SwiftletInterfaces.o"], cwd=ROOT,
                           capture_output=True, text=True, timeout=1200)
    assert built.returncode == 0, built.stdout + built.stderr
    source = os.path.join(FIXTURES, "ProxyCall.swift")
    result = check(*emit_sil(flags, "ProxyCall", source, tmp_path))
    assert result.returncode == 1
    found = findings(result)
    assert [int(f["line"]) for f in found] == sorted(marked(source))
    assert found[0]["function"] == "holdAccessAcrossProxyCall(_:_:)"
    assert "inside the access: a call to GreeterProxy.greet(_:)" in result.stdout


PROBE = """\
sil_stage canonical

sil @probe : $@convention(thin) (@guaranteed C) -> () {
bb0(%0 : $C):
  %1 = ref_element_addr %0, #C.x, loc "Probe.swift":3:5, scope 1
  %2 = alloc_stack $Builtin.UnsafeValueBuffer, loc "Probe.swift":4:5, scope 1
  begin_unpaired_access [modify] [dynamic] %1, %2, loc "Probe.swift":5:5, scope 1
  %4 = begin_access [modify] [unsafe] %1, loc "Probe.swift":6:5, scope 1
  end_access %4, loc "Probe.swift":6:9, scope 1
  %6 = builtin "beginUnpairedModifyAccess"<Int>(%1, %2), loc "Probe.swift":7:5, scope 1
  %7 = begin_access [read] [static] %1, loc "Probe.swift":8:5, scope 1
  end_access %7, loc "Probe.swift":8:9, scope 1
  %9 = begin_access [read] [dynamic] [no_nested_conflict] %1, loc "Probe.swift":9:5, scope 1
  end_access %9, loc "Probe.swift":9:9, scope 1
  %11 = tuple ()
  return %11, loc "Probe.swift":10:1, scope 1
} // end sil function 'probe'

sil_scope 1 { loc "Probe.swift":2:1 parent @probe : $@convention(thin) (@guaranteed C) -> () }
"""


def test_unpaired_builtin_and_unchecked_accesses_are_rejected(tmp_path):
    path = tmp_path / "Probe.sil"
    path.write_text(PROBE)
    result = check(str(path))
    assert result.returncode == 1
    found = {(int(f["line"]), f["function"]) for f in findings(result)}
    assert found == {(5, "probe"), (6, "probe"), (7, "probe")}
    assert "exclusivity: Probe.sil: 1 dynamic accesses, 1 proven free of nested conflicts" in result.stdout


def test_the_command_line_wants_sil_files():
    result = check()
    assert result.returncode == 2 and "Usage" in result.stderr
