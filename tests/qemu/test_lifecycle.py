"""A domain in a crash loop (kernel/test/LifecycleTests.swift, part of `test=all`): the
kernel gives it up once, says so in one line, and `domains` shows it failed and why."""
import re

from conftest import boot

ALL = "test=all"
GAVE_UP = re.compile(r"^\[error\] domain 'crasher' failed: crashed 10 times in a row, "
                     r"last: (.+) in its init; held stopped$")


def test_a_crash_loop_is_given_up_in_one_line():
    run = boot(ALL)
    results = run.test_results()
    assert results.get("lifecycle.init_crash_loop_gives_up", (False, "did not run"))[0], \
        results.get("lifecycle.init_crash_loop_gives_up") + run.tail()
    lines = [line for line in run.lines if GAVE_UP.match(line)]
    assert len(lines) == 1, f"{len(lines)} give-up lines" + run.tail()
    assert "invalid opcode" in GAVE_UP.match(lines[0])[1], lines[0]
    # Its first restarts' failures are logged, the rest only in the give-up line.
    failures = [line for line in run.lines
                if line == "[error] domain 'crasher': restart failed: its init crashed (status 1)"]
    assert 1 <= len(failures) <= 3, f"{len(failures)} restart failures logged" + run.tail()


def test_domains_shows_the_failed_domain_and_why():
    run = boot(ALL)
    listing = run.lines.index(next(line for line in run.lines if GAVE_UP.match(line)))
    after = run.lines[listing:]
    state = next((i for i, line in enumerate(after) if re.match(r"\s+\d+ crasher: ", line)), None)
    assert state is not None, "no 'domains' listing after the crasher failed" + run.tail()
    assert re.match(r"\s+\d+ crasher: failed, ", after[state]), after[state]
    assert re.match(r"\s+failed: crashed 10 times in a row, last: .+ in its init; held stopped$",
                    after[state + 1]), after[state + 1]
