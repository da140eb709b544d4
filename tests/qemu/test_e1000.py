"""The e1000 driver domain alone, against QEMU's 82540EM on its user network (slirp): the
kernel's e1000 tests send an ARP request for the gateway built by hand and wait for
slirp's reply, have bad lengths refused, and crash the driver in the middle of a
transmit and of a receive, then check that it restarts and works. No network stack is
involved. QEMU runs in a network namespace with only loopback (conftest, `net=`)."""
import re

import pytest

from conftest import boot

UP = ("[info] [e1000] e1000: up, mac 52:54:00:12:34:56, link up, 64 receive and 64 transmit "
      "descriptors, ITR 0")
NO_DEVICE = "[info] [e1000] e1000: no device: no such device is attached"
TESTS = ["e1000.info", "e1000.arp_reply_arrives", "e1000.bad_lengths_come_back",
         "e1000.crash_mid_transmit_recovers", "e1000.crash_mid_receive_recovers"]


@pytest.fixture(scope="module")
def e1000_run():
    return boot("test=e1000", net="e1000", timeout=120)


def test_the_e1000_tests_pass(e1000_run):
    problem = e1000_run.problem_in_test_run()
    assert problem is None, problem + e1000_run.tail()
    results = e1000_run.test_results()
    assert sorted(results) == sorted(TESTS), e1000_run.tail()
    failed = [name for name, (passed, _) in results.items() if not passed]
    assert not failed, f"failed: {failed}" + e1000_run.tail()


def test_the_driver_came_up_once_and_again_after_each_crash(e1000_run):
    ups = [line for line in e1000_run.lines if line.startswith(UP)]
    assert len(ups) == 3, e1000_run.tail()
    assert all(line.endswith(", INTx") for line in ups), ups[0]
    crashes = [line for line in e1000_run.lines if line.startswith("[warning] domain 'e1000' crashed")]
    assert len(crashes) == 2, e1000_run.tail()
    revoked = [line for line in e1000_run.lines if re.search(r": revoked from domain \d+$", line)]
    assert len(revoked) == 2, "the device was not revoked at each crash" + e1000_run.tail()


@pytest.mark.parametrize("net", ["none", "virtio"])
def test_without_an_e1000_the_driver_says_so_and_the_rest_runs(net):
    run = boot("test=domains.boot_modules_loaded", net=net)
    assert run.problem_in_test_run() is None, run.tail()
    assert NO_DEVICE in run.lines, run.tail()
    assert not any(line.startswith(UP) for line in run.lines), run.tail()
