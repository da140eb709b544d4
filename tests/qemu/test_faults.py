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
