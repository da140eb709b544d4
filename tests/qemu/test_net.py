"""The guest's network as the host sees it, on each NIC: the interface comes up by DHCP
(or with a fixed address), ARP requests and pings on the wire are answered, UDP
datagrams sent to slirp's forwarded port come back byte for byte, and the shell's `net`,
`arp` and `ping` report the interface, the cache and the gateway's answer.

Every test first waits for the guest's `net: up` line; without a driver and a stack the
whole module fails there, saying so."""
import re
import time

import pytest

from conftest import networked_guest
from netframes import (ARP_REPLY, ARP_REQUEST, GATEWAY_IP, GUEST_IP, GUEST_MAC,
                       ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST, SLIRP_MAC, Host)
from netguest import DRIVER_NAMES, ECHO_PORT, NET_UP, NICS, EchoClient, spread_sizes

# A made-up host on the guest's network; the test answers the guest's ARP requests for it.
PEER = Host("02:00:00:00:00:10", "10.0.2.10")
ANSWER_TIMEOUT = 5
# The kernel command line for a fixed address (the example spelling).
FIXED_ADDRESS = "10.0.2.16"
FIXED_OPTION = f"ip={FIXED_ADDRESS}/24,gw={GATEWAY_IP}"


@pytest.fixture(scope="module", params=NICS)
def guest(request):
    with networked_guest(request.param) as running:
        running.frames.answer_arp_for(PEER)
        yield running


def sent_by_guest(matches):
    return lambda frame: frame.source == GUEST_MAC and matches(frame)


def test_net_up_names_address_gateway_mac_and_driver(guest):
    up = guest.wait_until_up()
    assert (up["address"], up["prefix"], up["gateway"]) == (GUEST_IP, "24", GATEWAY_IP), up[0]
    assert up["mac"] == GUEST_MAC, up[0]
    assert up["driver"] == DRIVER_NAMES[guest.nic], up[0]


def test_address_came_from_slirps_dhcp(guest):
    guest.wait_until_up()
    # Waited for, not taken as they are: the frames of the exchange were on the wire
    # before the guest said it was up, but the thread that records them may still be
    # behind (a loaded machine).
    asked = guest.frames.wait_for(
        lambda frame: frame.source == GUEST_MAC and (udp := frame.udp()) is not None
        and (udp.source_port, udp.destination_port) == (68, 67), timeout=10)
    answered = guest.frames.wait_for(
        lambda frame: frame.source == SLIRP_MAC and (udp := frame.udp()) is not None
        and (udp.source_port, udp.destination_port) == (67, 68), timeout=10)
    assert asked, "the guest sent no DHCP request (UDP 68 -> 67) on the wire"
    assert answered, "slirp sent no DHCP answer"


def test_arp_request_is_answered(guest):
    guest.wait_until_up()
    since = guest.frames.mark()
    guest.frames.send(PEER.arp_request(GUEST_IP))
    reply = guest.frames.wait_for(sent_by_guest(
        lambda frame: (arp := frame.arp()) is not None and arp.operation == ARP_REPLY
        and arp.target_ip == PEER.ip), ANSWER_TIMEOUT, since=since)
    assert reply is not None, f"no ARP reply from the guest within {ANSWER_TIMEOUT} s"
    arp = reply.arp()
    assert (arp.sender_mac, arp.sender_ip) == (GUEST_MAC, GUEST_IP), arp
    assert (arp.target_mac, reply.destination) == (PEER.mac, PEER.mac), (arp, reply.destination)


def test_arp_request_for_another_address_is_not_answered(guest):
    guest.wait_until_up()
    since = guest.frames.mark()
    guest.frames.send(PEER.arp_request("10.0.2.77"))
    guest.frames.send(PEER.arp_request(GUEST_IP))  # once answered, the first has been looked at
    answered = guest.frames.wait_for(sent_by_guest(
        lambda frame: (arp := frame.arp()) is not None and arp.sender_ip == GUEST_IP),
        ANSWER_TIMEOUT, since)
    assert answered is not None, f"no ARP reply from the guest within {ANSWER_TIMEOUT} s"
    claims = [arp for frame in guest.frames.from_guest(since)
              if (arp := frame.arp()) and arp.operation == ARP_REPLY and arp.sender_ip != GUEST_IP]
    assert not claims, f"the guest claimed another address: {claims}"


def test_ping_is_answered(guest):
    guest.wait_until_up()
    payload = bytes(range(56))
    since = guest.frames.mark()
    guest.frames.send(PEER.ping(0x1234, 7, payload))
    reply = guest.frames.wait_for(sent_by_guest(
        lambda frame: (echo := frame.icmp_echo()) is not None and echo.kind == ICMP_ECHO_REPLY),
        ANSWER_TIMEOUT, since=since)
    assert reply is not None, f"no echo reply from the guest within {ANSWER_TIMEOUT} s"
    packet, echo = reply.ipv4(), reply.icmp_echo()
    assert (packet.source, packet.destination, reply.destination) == (GUEST_IP, PEER.ip, PEER.mac)
    assert packet.header_checksum_ok and echo.checksum_ok, "the reply's checksums are wrong"
    assert (echo.identifier, echo.sequence, echo.payload) == (0x1234, 7, payload), echo


def test_udp_echo_of_1000_datagrams_through_slirp(guest):
    guest.wait_until_up()
    with EchoClient(guest.netport) as client:
        report = client.check(spread_sizes(1000))
    assert report.answered == report.sent == 1000 and not report.corrupted, report.summary()


def test_udp_echo_on_the_wire(guest):
    """A datagram to port 7 from a host on the guest's network comes back to it, with a
    UDP checksum the guest computed."""
    guest.wait_until_up()
    payload = b"echo me " * 20
    since = guest.frames.mark()
    guest.frames.send(PEER.datagram(40007, ECHO_PORT, payload))
    reply = guest.frames.wait_for(sent_by_guest(
        lambda frame: (udp := frame.udp()) is not None and udp.destination_port == 40007),
        ANSWER_TIMEOUT, since=since)
    assert reply is not None, f"no echo from the guest within {ANSWER_TIMEOUT} s"
    udp = reply.udp()
    assert (reply.ipv4().destination, udp.source_port, udp.payload) == (PEER.ip, ECHO_PORT, payload)
    assert udp.checksum_ok and reply.ipv4().header_checksum_ok, "the echo's checksums are wrong"


def test_shell_net_names_the_interface(guest):
    guest.wait_until_up()
    output = guest.command("net")
    assert GUEST_IP in output, f"`net` does not give the address:\n{output}"
    assert GUEST_MAC in output.lower(), f"`net` does not give the MAC:\n{output}"
    assert DRIVER_NAMES[guest.nic] in output, f"`net` does not name the driver:\n{output}"
    assert re.search(r"\bdhcp\b", output, re.IGNORECASE), f"`net` does not say DHCP:\n{output}"


def test_shell_ping_reaches_the_gateway(guest):
    guest.wait_until_up()
    since = guest.frames.mark()
    output = guest.command(f"ping {GATEWAY_IP}", timeout=60)
    sent = guest.frames.wait_for(sent_by_guest(
        lambda frame: (echo := frame.icmp_echo()) is not None and echo.kind == ICMP_ECHO_REQUEST
        and frame.ipv4().destination == GATEWAY_IP), 2, since=since)
    assert sent is not None, f"`ping` sent no echo request to {GATEWAY_IP}:\n{output}"
    answered = guest.frames.wait_for(
        lambda frame: frame.source == SLIRP_MAC and (echo := frame.icmp_echo()) is not None
        and echo.kind == ICMP_ECHO_REPLY and echo.identifier == sent.icmp_echo().identifier, 2, since)
    assert answered is not None, "slirp did not answer the guest's ping"
    assert re.search(rf"reply from {re.escape(GATEWAY_IP)}\b", output), \
        f"`ping` does not report the reply:\n{output}"
    summary = re.search(r"(\d+) sent, (\d+) received", output)
    assert summary and int(summary[2]) >= 1, f"`ping` does not count the replies:\n{output}"


def test_shell_arp_lists_the_gateway(guest):
    guest.wait_until_up()
    guest.command(f"ping {GATEWAY_IP} 1", timeout=60)  # the gateway is in the cache now
    output = guest.command("arp")
    assert re.search(rf"{re.escape(GATEWAY_IP)}\b.*{SLIRP_MAC}", output.lower()), \
        f"`arp` does not list {GATEWAY_IP} at {SLIRP_MAC}:\n{output}"


def test_guest_shuts_down_cleanly(guest):
    status = guest.stop()
    crashes = [line for line in guest.lines if re.search(r"domain '\w+' crashed|^PANIC", line)]
    assert not crashes and status == 0, f"status {status}, {crashes}" + guest.tail()


def test_fixed_address_from_the_command_line():
    """`ip=` on the command line: the interface comes up with that address, asks no DHCP
    server, and answers on it."""
    with networked_guest("virtio", cmdline=FIXED_OPTION) as guest:
        guest.frames.answer_arp_for(PEER)
        up = guest.wait_until_up()
        assert (up["address"], up["prefix"], up["gateway"]) == (FIXED_ADDRESS, "24", GATEWAY_IP), up[0]
        since = guest.frames.mark()
        guest.frames.send(PEER.ping(0x4321, 1, to_ip=FIXED_ADDRESS))
        reply = guest.frames.wait_for(sent_by_guest(
            lambda frame: (echo := frame.icmp_echo()) is not None and echo.kind == ICMP_ECHO_REPLY),
            ANSWER_TIMEOUT, since=since)
        assert reply is not None and reply.ipv4().source == FIXED_ADDRESS, "no answer on the fixed address"
        assert "static" in guest.command("net"), "`net` does not say the address is static"
        dhcp = [frame for frame in guest.frames.from_guest()
                if (udp := frame.udp()) and udp.destination_port == 67]
        assert not dhcp, "the guest asked DHCP although its address was given"


DHCP_SILENT = re.compile(r"net: no DHCP answer after (\d+) DISCOVERs; still asking")


@pytest.mark.parametrize("nic", NICS)
def test_dhcp_without_an_answer_says_so_and_keeps_asking(nic):
    """No DHCP server on the network (no slirp on the hub): the log says so, the stack keeps
    sending DISCOVERs, no `net: up` line comes, and the rest of the system runs."""
    with networked_guest(nic, slirp=False) as guest:
        silent = guest.wait_for(DHCP_SILENT, 60, what="the no-DHCP-answer line")

        def discovers():
            return [frame for frame in guest.frames.from_guest()
                    if (udp := frame.udp()) and (udp.source_port, udp.destination_port) == (68, 67)]
        # The line can come out just before the last DISCOVER reaches the test's port.
        deadline = time.monotonic() + ANSWER_TIMEOUT
        while len(discovers()) < int(silent[1]) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(discovers()) >= int(silent[1]), \
            f"the log counts {silent[1]} DISCOVERs, the wire saw {len(discovers())}"
        since = guest.frames.mark()
        output = guest.command("net")
        assert re.search(r"no address|unconfigured|dhcp", output, re.IGNORECASE), \
            f"`net` does not say the interface has no address yet:\n{output}"
        more = guest.frames.wait_for(sent_by_guest(
            lambda frame: (udp := frame.udp()) is not None and udp.destination_port == 67), 10, since)
        assert more is not None, "the stack stopped asking for an address"
        assert not NET_UP.search(guest.transcript), guest.tail()
        assert re.search(r"\d+ hello: running", guest.command("domains")), "hello is not running"
