"""The in-kernel tests (`test=all`), each reported as its own pytest test."""
import re

import pytest

from conftest import boot

ALL = "test=all"


def pytest_generate_tests(metafunc):
    if "kernel_test" in metafunc.fixturenames:
        names = sorted(boot(ALL).test_results()) or ["(no test ran)"]
        metafunc.parametrize("kernel_test", names)


def test_in_kernel(kernel_test):
    run = boot(ALL)
    results = run.test_results()
    assert kernel_test in results, f"the kernel ran no test: {run.problem_in_test_run()}{run.tail()}"
    passed, why = results[kernel_test]
    assert passed, f"{kernel_test}: {why}{run.tail()}"


def test_run_ends_cleanly():
    run = boot(ALL)
    assert run.problem_in_test_run() is None, run.problem_in_test_run() + run.tail()
    passed, failed = run.closing_counts()
    results = run.test_results()
    assert (passed, failed) == (sum(ok for ok, _ in results.values()),
                                sum(not ok for ok, _ in results.values())), run.tail()



def test_all_runs_every_registered_test_but_the_selftests_disk_nic_and_hostile_tests():
    listing = boot("", stdin="tests\n")
    registered = {line.strip() for line in listing.lines
                  if re.fullmatch(r"  [a-z_0-9]+\.[a-z_0-9]+", line)}
    expected = {name for name in registered
                if not name.startswith(("selftest.", "pcidisk.", "block.", "blockslow.", "blockdelay.",
                                        "net.", "e1000.", "hostile."))}
    assert expected and len(registered) > len(expected), listing.tail()
    assert set(boot(ALL).test_results()) == expected, boot(ALL).tail()


def test_banner():
    run = boot(ALL)
    banners = [line for line in run.lines if line.startswith("Swiftlet ")]
    assert banners, "no banner" + run.tail()
    assert "MiB of memory" in banners[0] and "via multiboot1" in banners[0], banners[0]


def test_group_pattern_selects_only_that_group():
    run = boot("test=console")
    names = set(run.test_results())
    assert names and all(name.startswith("console.") for name in names), run.tail()
    assert run.problem_in_test_run() is None, run.problem_in_test_run() + run.tail()


def test_pattern_matching_nothing_is_an_error():
    run = boot("test=no.such.test")
    assert "error: test pattern 'no.such.test' matches no test" in run.lines, run.tail()
    assert run.problem() == "the kernel reported failures", run.tail()


def test_unknown_option_is_a_warning():
    run = boot("test=console frobnicate")
    assert any("unknown option 'frobnicate'" in line and "warning" in line
               for line in run.lines), run.tail()
    assert run.problem_in_test_run() is None, run.problem_in_test_run() + run.tail()


def test_quiet_hides_info_lines():
    loud = boot("test=console")
    quiet = boot("test=console quiet")
    assert any(line.startswith("[info]") for line in loud.lines), loud.tail()
    assert not any(line.startswith("[info]") for line in quiet.lines), quiet.tail()
    assert quiet.closing_counts() == loud.closing_counts(), quiet.tail()
