"""Crashes under traffic: a NIC driver, then the network stack, traps in the middle of a
UDP echo run (a crash planned with the shell's `fault` command at a checkpoint of its
receive path). The stack restarts its driver and posts new buffers; the echo service
restarts the stack and opens its socket again; either way the echo answers again, and
every datagram that comes back is byte-identical. What was lost across the restart is
counted (build/net-recovery.txt keeps the figures)."""
import pathlib
import re

import pytest

from netguest import DRIVER_NAMES, NICS, EchoClient, Guest, GuestError, spread_sizes

RESULTS = pathlib.Path(__file__).resolve().parents[2] / "build" / "net-recovery.txt"


def record(line):
    with RESULTS.open("a") as results:
        results.write(line + "\n")


def run_crash(nic, domain, point, restarted):
    """Echoes, plans a crash of `domain` at `point`, echoes through it, and checks the
    crash happened, `restarted` shows up afterwards and the echo answers again."""
    with Guest(nic) as guest:
        guest.wait_until_up()
        with EchoClient(guest.netport, timeout=0.5) as client:
            before = client.check(spread_sizes(40), tries=3)
            assert before.answered == 40 and not before.corrupted, before.summary()
            planned = guest.command(f"fault {domain} {point} 20")
            assert "gets trap at pass 20" in planned, planned
            during = client.check(spread_sizes(300), tries=1, give_up_after=300)
            guest.wait_for(rf"domain '{domain}' crashed", 20, what=f"{domain} crashing")
            try:
                guest.wait_for(restarted, 30, what="the restart")
            except GuestError as error:
                raise GuestError(f"{error}\n--- threads ---\n{guest.command('threads')}") from error
            after = client.check(spread_sizes(100), tries=3)
        assert not during.corrupted, during.summary()
        assert after.answered == 100 and not after.corrupted, after.summary() + guest.tail()
        record(f"{nic} {domain} crash at {point}: {len(during.lost)} of {during.sent} "
               f"datagrams lost across the restart (one try each, 0.5 s); afterwards "
               f"{after.answered} of {after.sent} echoed")
        assert not re.search(r"PANIC|panicked", "\n".join(guest.lines)), guest.tail()
        return guest.command("net")


@pytest.mark.parametrize("nic", NICS)
def test_driver_crash_under_traffic_recovers(nic):
    driver = DRIVER_NAMES[nic]
    status = run_crash(nic, driver, "frame-receive", r"driver stopped; restarted it")
    restarts = re.search(r"driver restarts: (\d+)", status)
    assert restarts and int(restarts.group(1)) >= 1, status


@pytest.mark.parametrize("nic", NICS)
def test_stack_crash_under_traffic_recovers(nic):
    # The restarted stack takes its address again and says so a second time.
    status = run_crash(nic, "net", "stack-input", r"net: up [\s\S]*net: up ")
    assert "address 10.0.2.15/24" in status, status
