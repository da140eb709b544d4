"""Malformed frames on the wire are dropped, never answered, and the guest keeps serving.

Each bad frame is a request the guest would answer if it were well formed (a ping, a
datagram to the echo port, an ARP request for its address) with one thing broken, sent
from a made-up host of its own. Any frame the guest then sends to that host (or an ARP
request for it) is an answer, and a failure. After each one a good ping from another
host must be answered: the stack still runs, and the bad frame, sent before it, has been
looked at. At the end the echo through slirp still answers and nothing crashed."""
import re
import struct

import pytest

from conftest import networked_guest
from netframes import (GUEST_IP, GUEST_MAC, ICMP_ECHO_REPLY, IP_MORE_FRAGMENTS,
                       LARGEST_FRAME, Host, ethernet)
from netguest import ECHO_PORT, NICS, EchoClient, spread_sizes

PROBE = Host("02:00:00:00:00:20", "10.0.2.20")  # sends the good pings between bad frames
PROBE_TRIES = 5
PROBE_TIMEOUT = 2
FLOOD_FRAMES = 2000


def flip_ip_checksum(frame):
    offset = 14 + 10
    (checksum,) = struct.unpack_from("!H", frame, offset)
    return frame[:offset] + struct.pack("!H", checksum ^ 0x5A5A) + frame[offset + 2:]


def ping(host, **fields):
    return host.ping(0xBAD0, 1, b"malformed " * 4, **fields)


def datagram(host, payload=b"malformed datagram", **fields):
    return host.datagram(41000, ECHO_PORT, payload, **fields)


def broadcast_flood(host):
    """ARP requests for an address nobody has, from many hosts, and UDP broadcasts to a
    port nobody listens on."""
    frames = []
    for index in range(FLOOD_FRAMES // 2):
        asker = Host(f"06:00:00:ff:{index >> 8:02x}:{index & 0xFF:02x}", host.ip)
        frames.append(asker.arp_request("10.0.2.200"))
        frames.append(host.datagram(41001, 9, b"flood %d" % index, to_ip="255.255.255.255",
                                    to_mac="ff:ff:ff:ff:ff:ff"))
    return frames


# name: frames from the given host. Each would be answered, were it well formed.
MALFORMED = {
    "runt": lambda host: [ping(host)[:10]],
    "runt_ip_header": lambda host: [ping(host)[:14 + 12]],
    "oversize": lambda host: [host.ping(0xBAD0, 1, b"x" * (LARGEST_FRAME + 100 - 14 - 28))],
    "ihl_below_five": lambda host: [ping(host, header_words=4)],
    "ihl_past_total_length": lambda host: [ping(host, header_words=15, total_length=40)],
    "bad_ip_checksum": lambda host: [flip_ip_checksum(ping(host))],
    "bad_icmp_checksum": lambda host: [ping(host, icmp_checksum=0x1234)],
    "ip_version_6": lambda host: [ping(host, version=6)],
    "total_length_past_frame": lambda host: [ping(host, total_length=20 + 8 + 40 + 100)],
    "total_length_below_header": lambda host: [ping(host, total_length=12)],
    "udp_length_past_packet": lambda host: [datagram(host, udp_length=8 + 18 + 40, udp_checksum=0)],
    "udp_length_below_header": lambda host: [datagram(host, udp_length=4, udp_checksum=0)],
    "bad_udp_checksum": lambda host: [datagram(host, udp_checksum=0x1234)],
    "first_fragment": lambda host: [ping(host, fragment=IP_MORE_FRAGMENTS)],
    # Offset 1480 with more to come: reads as a whole ping. (A last fragment, MF clear,
    # cannot be sent: the hub hands it to slirp too, and libslirp 4.7 then dies of SIGBUS
    # on the next packet, taking QEMU with it, whatever the guest does.)
    "later_fragment": lambda host: [ping(host, fragment=IP_MORE_FRAGMENTS | 185)],
    "ttl_zero": lambda host: [ping(host, ttl=0)],
    "unknown_ethertype": lambda host: [ethernet(GUEST_MAC, host.mac, 0x88B5, ping(host)[14:])],
    "arp_hardware_length_8": lambda host: [host.arp_request(GUEST_IP, hardware_length=8)],
    "arp_protocol_length_6": lambda host: [host.arp_request(GUEST_IP, protocol_length=6)],
    "arp_truncated": lambda host: [host.arp_request(GUEST_IP)[:14 + 24]],
    "arp_not_ethernet": lambda host: [host.arp_request(GUEST_IP, hardware_type=6)],
    "broadcast_flood": broadcast_flood,
}


def sender(index):
    """A host of its own for each bad frame, so an answer says which frame it answers."""
    return Host(f"02:00:00:00:01:{index:02x}", f"10.0.2.{100 + index}")


@pytest.fixture(scope="module", params=NICS)
def guest(request):
    with networked_guest(request.param) as running:
        running.frames.answer_arp_for(PROBE)
        for index in range(len(MALFORMED)):
            running.frames.answer_arp_for(sender(index))
        yield running


def probe_answered(guest, sequence):
    """Sends a good ping until it is answered; True if it was."""
    for _ in range(PROBE_TRIES):
        since = guest.frames.mark()
        guest.frames.send(PROBE.ping(0x600D, sequence))
        reply = guest.frames.wait_for(
            lambda frame: frame.source == GUEST_MAC and (echo := frame.icmp_echo()) is not None
            and echo.kind == ICMP_ECHO_REPLY and echo.identifier == 0x600D
            and echo.sequence == sequence, PROBE_TIMEOUT, since=since)
        if reply is not None:
            return True
    return False


def answers_to(host, frames):
    return [frame for frame in frames
            if frame.destination == host.mac
            or ((packet := frame.ipv4()) is not None and packet.destination == host.ip)
            or ((arp := frame.arp()) is not None and arp.target_ip == host.ip)]


@pytest.mark.parametrize("name", list(MALFORMED))
def test_malformed_frame_is_dropped(guest, name):
    guest.wait_until_up()
    index = list(MALFORMED).index(name)
    host = sender(index)
    since = guest.frames.mark()
    for frame in MALFORMED[name](host):
        guest.frames.send(frame)
    assert probe_answered(guest, index), \
        f"the guest stopped answering pings after the {name} frame" + guest.tail(20)
    answers = answers_to(host, guest.frames.from_guest(since))
    assert not answers, f"the guest answered the {name} frame: {answers[0].raw.hex()}"


# Frames whose drop reason is unambiguous, and the name `net` gives it (Packets' DropReason).
COUNTED = {"bad_ip_checksum": "bad-ip-checksum", "first_fragment": "fragment",
           "ttl_zero": "ttl-expired", "unknown_ethertype": "unknown-ethertype",
           "bad_udp_checksum": "bad-udp-checksum"}


def test_drops_are_counted_by_reason(guest):
    guest.wait_until_up()
    output = guest.command("net")
    dropped = re.search(r"dropped:(.*)", output)
    assert dropped, f"`net` shows no drops line:\n{output}"
    counts = dict((name, int(count)) for name, count in re.findall(r"([a-z-]+) (\d+)", dropped[1]))
    missing = {frame: reason for frame, reason in COUNTED.items() if counts.get(reason, 0) < 1}
    assert not missing, f"drops not counted for {missing}: `net` says{dropped[0]}"


def test_echo_still_answers_and_nothing_crashed(guest):
    guest.wait_until_up()
    with EchoClient(guest.netport) as client:
        report = client.check(spread_sizes(100))
    assert report.answered == report.sent and not report.corrupted, report.summary()
    status = guest.stop()
    crashes = [line for line in guest.lines if re.search(r"domain '\w+' crashed|^PANIC", line)]
    assert not crashes and status == 0, f"status {status}, {crashes}" + guest.tail()

