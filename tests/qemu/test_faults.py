"""Deliberate faults: each must give a readable, symbolized report, and the harness must
recognise every way a boot can go wrong (panic, failure, hang, triple fault)."""
import pytest

from conftest import PANIC, FAILURES, RESET, TIMEOUT, boot

FAULTS = [
    # test name, first report line, the function the report must name at rip
    ("selftest.pagefault", "PANIC: page fault (#PF, vector 14) in kernel", "SelfTests.pageFault"),
    ("selftest.overflow", "PANIC: invalid opcode (#UD, vector 6) in kernel", "SelfTests.overflow"),
    ("selftest.divide", "PANIC: divide error (#DE, vector 0) in kernel", "selftest_divide_error"),
    ("selftest.protection", "PANIC: general protection fault (#GP, vector 13) in kernel",
     "SelfTests.protection"),
]


@pytest.mark.parametrize("name, headline, function", FAULTS, ids=[f[0] for f in FAULTS])
def test_exception_report(name, headline, function):
    run = boot(f"test={name}")
    report = run.panic_report()
    assert report, f"no PANIC report{run.tail()}"
    assert report[0] == headline, run.tail()
    rip = next(line for line in report if line.strip().startswith("rip "))
    assert function in rip, f"rip line does not name {function}: {rip}{run.tail()}"
    for register in ("rax ", "rbx ", "r15 ", "rflags ", "error "):
        assert any(register in line for line in report), f"no {register.strip()}" + run.tail()
    backtrace = report[report.index("backtrace:"):]
    # The chain runs from the faulting function back through the test runner to kmain.
    assert any("TestRunner.run" in line for line in backtrace), run.tail()
    assert any("kmain" in line for line in backtrace), run.tail()
    assert run.status == PANIC, run.tail()
    assert run.problem().startswith("the kernel panicked"), run.problem()


def test_page_fault_report_gives_the_address_and_cause():
    run = boot("test=selftest.pagefault")
    cr2 = [line for line in run.panic_report() if "cr2 " in line]
    assert cr2 and "0x0000700000000000" in cr2[0], run.tail()
    assert "write, page not present" in cr2[0], run.tail()


def test_kernel_panic_report():
    run = boot("test=selftest.panic")
    report = run.panic_report()
    assert report and report[0] == "PANIC: selftest: a deliberate panic", run.tail()
    assert any("SelfTests.kernelPanic" in line for line in report), run.tail()
    assert run.status == PANIC, run.tail()


def test_harness_catches_a_failed_test():
    run = boot("test=selftest.fail")
    assert run.test_results().get("selftest.fail", (True, ""))[0] is False, run.tail()
    assert run.closing_counts() == (0, 1), run.tail()
    assert run.status == FAILURES and run.problem() == "the kernel reported failures"


def test_harness_catches_a_hang():
    run = boot("test=selftest.hang", timeout=8)
    assert run.status == TIMEOUT, run.tail()
    assert run.problem().startswith("timed out"), run.problem()


def test_harness_catches_a_triple_fault():
    run = boot("test=selftest.triplefault")
    assert run.status == RESET, run.tail()
    assert not run.panic_report(), run.tail()
    assert run.problem().startswith("the guest reset"), run.problem()


MEMORY_FAULTS = [
    # test name, the cr2 line must contain, the function rip must name
    ("selftest.nullderef", ("0x0000000000000008", "read, page not present"), "SelfTests.nullDereference"),
    ("selftest.writetext", ("write, protection violation",), "SelfTests.writeToText"),
    ("selftest.execheap", ("instruction fetch, protection violation",), None),
]


@pytest.mark.parametrize("name, cr2_parts, function", MEMORY_FAULTS,
                         ids=[f[0] for f in MEMORY_FAULTS])
def test_paging_fault_report(name, cr2_parts, function):
    run = boot(f"test={name}")
    report = run.panic_report()
    assert report and report[0] == "PANIC: page fault (#PF, vector 14) in kernel", run.tail()
    cr2 = next((line for line in report if line.strip().startswith("cr2 ")), "")
    for part in cr2_parts:
        assert part in cr2, f"{part!r} not in {cr2!r}" + run.tail()
    if function:
        rip = next(line for line in report if line.strip().startswith("rip "))
        assert function in rip, rip + run.tail()
    # Executing the heap faults at the heap address: the caller is in the backtrace.
    assert any("SelfTests.executeHeap" in line for line in report) or function, run.tail()
    assert run.status == PANIC, run.tail()


def test_stack_overflow_hits_the_guard_page():
    run = boot("test=selftest.stackoverflow")
    report = run.panic_report()
    assert report and report[0] == "PANIC: page fault (#PF, vector 14) in kernel", run.tail()
    assert "  stack overflow: cr2 is in the guard page below the boot stack" in report, run.tail()
    assert any("SelfTests.recurse" in line for line in report), run.tail()
    assert run.status == PANIC, run.tail()


def test_thread_stack_overflow_names_the_thread():
    run = boot("test=selftest.threadoverflow")
    report = run.panic_report()
    assert report and report[0] == "PANIC: page fault (#PF, vector 14) in kernel", run.tail()
    assert "  thread 'deep' (id" in "\n".join(report), run.tail()
    assert "  stack overflow: cr2 is in the guard page below thread 'deep'" in report, run.tail()
    assert run.status == PANIC, run.tail()
