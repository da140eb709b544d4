"""Boots Swiftlet in QEMU through scripts/qemu.sh and judges what the serial console says.

A boot is judged clean only if QEMU exited with the kernel's success status and the
console shows no panic report; `Boot.problem()` says what went wrong otherwise, and
every failure message ends with the last 40 lines of serial output.

The whole session runs in a network namespace with only loopback (netguest.py), entered
as this file loads: QEMU's user network cannot reach past this machine from any boot,
with or without a NIC option. Where that is impossible (not root), the boots with a NIC
fail, saying why, and the others run as before.
"""
import contextlib
import functools
import re
import subprocess

import pytest

from netframes import FramePort
from netguest import QEMU, ROOT, Guest, NamespaceError, enter_loopback_namespace

try:
    enter_loopback_namespace()
except NamespaceError:
    pass  # in_loopback_namespace() tries again and fails the test that needs it

BOOT_TIMEOUT = 60

# scripts/qemu.sh exit statuses.
SUCCESS, FAILURES, PANIC, RESET, TIMEOUT = 0, 1, 2, 3, 124

TEST_LINE = re.compile(r"^TEST (\S+) \.\.\. (ok|FAIL)(?: (.*))?$")
CLOSING_LINE = re.compile(r"^(\d+) passed, (\d+) failed$")


class Boot:
    def __init__(self, args, status, stdout, stderr):
        self.args = args
        self.status = status
        self.lines = [line.rstrip("\r") for line in stdout.splitlines()]
        self.stderr = stderr

    @property
    def text(self):
        return "\n".join(self.lines)

    def tail(self, count=40):
        shown = "\n".join(self.lines[-count:])
        return (f"\n--- last {min(count, len(self.lines))} serial lines "
                f"({' '.join(self.args)}) ---\n{shown}\n--- qemu.sh: {self.stderr.strip()}")

    def panic_report(self):
        """The lines from "PANIC:" on, or [] if the kernel did not panic."""
        for index, line in enumerate(self.lines):
            if line.startswith("PANIC:"):
                return self.lines[index:]
        return []

    def test_results(self):
        """{name: (passed, why)} for every TEST line."""
        results = {}
        for line in self.lines:
            match = TEST_LINE.match(line)
            if match:
                results[match[1]] = (match[2] == "ok", match[3] or "")
        return results

    def closing_counts(self):
        for line in self.lines:
            match = CLOSING_LINE.match(line)
            if match:
                return int(match[1]), int(match[2])
        return None

    def problem(self):
        """Why this boot did not end well, or None."""
        if self.status == TIMEOUT:
            return "timed out: the kernel neither finished nor exited"
        if self.panic_report() or self.status == PANIC:
            return "the kernel panicked: " + (self.panic_report() or ["(no report)"])[0]
        if self.status == RESET:
            return "the guest reset (triple fault) before the kernel reported"
        if self.status == FAILURES:
            return "the kernel reported failures"
        if self.status != SUCCESS:
            return f"QEMU failed (status {self.status})"
        return None

    def problem_in_test_run(self):
        """Like problem(), and also requires the closing line of a test run."""
        problem = self.problem()
        if problem is None and self.closing_counts() is None:
            problem = "no closing 'N passed, N failed' line"
        return problem


@functools.lru_cache(maxsize=None)
def boot(cmdline="", iso=False, stdin="", timeout=BOOT_TIMEOUT, disk=None, disk_options=None,
         suite=None, net=None, slow_disk=None):
    """Boots once per distinct set of arguments; later calls reuse the result. `disk`
    names a raw image to attach as a virtio-blk device, `disk_options` QEMU properties
    for that device, `slow_disk` milliseconds each request of a null (all-zero) virtio-blk
    disk takes instead; `suite` boots a test suite's domains too (build/<suite>/*.so); `net`
    is scripts/qemu.sh's --net (virtio, e1000 or none)."""
    args = [str(QEMU), "--timeout", str(timeout)]
    args += ["--iso"] if iso else ["--cmdline", cmdline]
    args += ["--disk", str(disk)] if disk else []
    args += ["--disk-options", disk_options] if disk_options else []
    args += ["--slow-disk", str(slow_disk)] if slow_disk is not None else []
    args += ["--suite", suite] if suite else []
    if net:
        in_loopback_namespace()
        args += ["--net", net]
    result = subprocess.run(args, input=stdin, capture_output=True, text=True,
                            timeout=timeout + 30)
    return Boot(args[1:], result.returncode, result.stdout, result.stderr)


def in_loopback_namespace():
    try:
        enter_loopback_namespace()
    except NamespaceError as error:
        pytest.fail(str(error), pytrace=False)


@contextlib.contextmanager
def networked_guest(nic, cmdline="", net_options=None, pcap=None, slirp=True):
    """A running guest with `nic` on a hub with slirp (unless `slirp` is false) and the
    test's raw-frame port: `guest.frames` (a netframes.FramePort) sees every frame and
    injects frames."""
    in_loopback_namespace()
    frames = FramePort()
    guest = None
    try:
        guest = Guest(nic, frames=frames.option, cmdline=cmdline, net_options=net_options, pcap=pcap,
                      slirp=slirp)
        guest.frames = frames
        yield guest
    finally:
        if guest is not None:
            guest.stop()
        frames.close()
