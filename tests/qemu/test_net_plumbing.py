"""scripts/qemu.sh's network options and the test harness's own plumbing, without the
guest's network stack: the NIC each --net attaches, and the hub that carries slirp's
frames to the test's raw-frame port and the test's frames to slirp."""
import re
import socket
import struct
import subprocess

import pytest

from conftest import QEMU, boot, networked_guest
from netframes import (ARP_REPLY, ARP_REQUEST, GATEWAY_IP, GUEST_IP, ICMP_ECHO_REPLY,
                       ICMPV6_ROUTER_ADVERTISEMENT, SLIRP_MAC, Host, internet_checksum, parse_ethernet)
from netguest import EchoClient, Guest, network_interfaces

NIC_IDS = {"virtio": "1af4:1041", "e1000": "8086:100e"}
# A made-up host on the guest's network, which the test plays.
TESTER = Host("02:00:00:00:00:99", "10.0.2.99")


def ethernet_controllers(run):
    """The shell's `devices` lines for Ethernet controllers: [vendor:device]."""
    return re.findall(r"^  [0-9a-f]{2}:[0-9a-f]{2}\.[0-7] ([0-9a-f]{4}:[0-9a-f]{4}) Ethernet controller",
                      run.text, re.MULTILINE)


def test_frame_builders_checksums():
    """RFC 1071's worked example, and the builders' checksums verify in the parsers."""
    assert internet_checksum(bytes.fromhex("0001f203f4f5f6f7")) == 0x220D
    frame = parse_ethernet(TESTER.datagram(1234, 7, b"odd length"))
    assert frame.ipv4().header_checksum_ok and frame.udp().checksum_ok
    assert frame.udp().payload == b"odd length"
    broken = bytearray(frame.raw)
    broken[-1] ^= 1
    assert not parse_ethernet(bytes(broken)).udp().checksum_ok
    assert parse_ethernet(TESTER.ping(1, 2, b"abc")).icmp_echo().checksum_ok


@pytest.mark.parametrize("nic", ["virtio", "e1000"])
def test_net_attaches_the_nic_and_only_it(nic):
    run = boot("", stdin="devices\n", net=nic)
    assert run.problem() is None, run.problem() + run.tail()
    assert ethernet_controllers(run) == [NIC_IDS[nic]], run.tail()


def test_virtio_nic_is_modern_only():
    run = boot("", stdin="devices\n", net="virtio")
    line = next(line for line in run.lines if line.startswith("  ") and "1af4:1041" in line)
    assert "MSI-X" in line and re.search(r"BAR4 mem64 prefetchable 0x[0-9a-f]+ size 0x4000", line), line
    assert not re.search(r"BAR0 io", line), "a transitional device has a legacy I/O BAR: " + line


def test_net_none_attaches_no_nic():
    run = boot("", stdin="devices\n", net="none")
    assert run.problem() is None, run.problem() + run.tail()
    assert ethernet_controllers(run) == [], run.tail()


def test_without_a_nic_the_stack_says_so_and_the_rest_runs():
    with Guest("none") as guest:
        guest.wait_for(r"\[net\] net: no network device: \S", 60, what="the stack's no-device line")
        listing = guest.command("domains")
        running = set(re.findall(r"^  \d+ (\w+): running,", listing, re.MULTILINE))
        assert {"hello", "counter", "echo", "net", "virtio_blk"} <= running, listing
        assert guest.stop() == 0, guest.tail()
        assert not re.search(r"domain '\w+' crashed|PANIC", guest.transcript), guest.tail()


@pytest.mark.parametrize("args, complaint", [
    (["--net", "rtl8139"], "--net must be virtio, e1000 or none"),
    (["--net", "virtio", "--netport", "70000"], "--netport must be a port number"),
    (["--net", "virtio", "--frames", "5000"], "--frames takes QEMU_PORT:TEST_PORT"),
    (["--frames", "5000:5001"], "need a NIC"),
    (["--net", "none", "--pcap", "x.pcap"], "need a NIC"),
])
def test_bad_network_options_are_refused(args, complaint):
    result = subprocess.run([str(QEMU), *args], stdin=subprocess.DEVNULL, capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 64 and complaint in result.stderr, result.stderr


def test_the_harness_runs_in_a_namespace_with_only_loopback():
    assert network_interfaces() == ["lo"]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        with pytest.raises(OSError):  # no route anywhere: nothing can leave the machine
            probe.sendto(b"x", ("192.0.2.1", 9))


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    pcap = tmp_path_factory.mktemp("net") / "nic.pcap"
    with networked_guest("virtio", pcap=pcap) as guest:
        guest.wait_for("swiftlet> ", 60, what="the shell's prompt")
        yield guest, pcap


def test_slirp_answers_an_injected_arp_request(hub):
    guest, _ = hub
    since = guest.frames.mark()
    guest.frames.send(TESTER.arp_request(GATEWAY_IP))
    reply = guest.frames.wait_for(
        lambda frame: (arp := frame.arp()) is not None and arp.operation == ARP_REPLY
        and arp.sender_ip == GATEWAY_IP and arp.target_mac == TESTER.mac, timeout=5, since=since)
    assert reply is not None, "slirp's ARP reply never reached the test's port"
    assert reply.source == SLIRP_MAC and reply.destination == TESTER.mac


def test_slirp_answers_an_injected_ping(hub):
    guest, _ = hub
    since = guest.frames.mark()
    guest.frames.send(TESTER.ping(0x7E57, 3, b"through the hub", to_ip=GATEWAY_IP, to_mac=SLIRP_MAC))
    reply = guest.frames.wait_for(
        lambda frame: (echo := frame.icmp_echo()) is not None and echo.kind == ICMP_ECHO_REPLY
        and echo.identifier == 0x7E57, timeout=5, since=since)
    assert reply is not None, "slirp's echo reply never reached the test's port"
    assert reply.icmp_echo().payload == b"through the hub" and reply.icmp_echo().checksum_ok
    assert reply.ipv4().source == GATEWAY_IP and reply.ipv4().destination == TESTER.ip


def test_slirp_sends_router_advertisements(hub):
    guest, _ = hub
    since = guest.frames.mark()
    guest.frames.send(TESTER.router_solicitation())
    advertisement = guest.frames.wait_for(
        lambda frame: frame.icmpv6_type() == ICMPV6_ROUTER_ADVERTISEMENT, timeout=5, since=since)
    assert advertisement is not None, "no IPv6 router advertisement from slirp"


def test_the_forwarded_port_reaches_the_hub(hub):
    """A datagram to host 127.0.0.1:NETPORT makes slirp look for 10.0.2.15 on the hub
    (an ARP request), or send the datagram there once it knows the guest's MAC."""
    guest, _ = hub
    since = guest.frames.mark()
    with EchoClient(guest.netport) as client:
        client.socket.sendto(b"forwarded", client.address)

    def slirp_seeks_the_guest(frame):
        arp, udp = frame.arp(), frame.udp()
        if arp is not None:
            return arp.operation == ARP_REQUEST and arp.target_ip == GUEST_IP
        return udp is not None and udp.destination_port == 7 and udp.payload == b"forwarded"
    assert guest.frames.wait_for(slirp_seeks_the_guest, timeout=5, since=since) is not None, \
        "nothing on the hub for 10.0.2.15 after a datagram to the forwarded port"


def test_pcap_records_the_nics_frames(hub):
    """The dump is of the NIC's hub port: the test's frame going to the guest, and
    slirp's answer to it, are both in it."""
    guest, pcap = hub
    asker = Host("02:00:00:00:00:98", "10.0.2.98")
    request = asker.arp_request(GATEWAY_IP)
    since = guest.frames.mark()
    guest.frames.send(request)
    reply = guest.frames.wait_for(lambda frame: frame.destination == asker.mac, timeout=5, since=since)
    assert reply is not None, "slirp did not answer"
    guest.stop()  # QEMU flushes the dump as it exits
    data = pcap.read_bytes()
    assert struct.unpack_from("<I", data)[0] == 0xA1B2C3D4, "not a pcap file"
    records, offset = [], 24
    while offset + 16 <= len(data):
        (length,) = struct.unpack_from("<I", data, offset + 8)
        records.append(data[offset + 16:offset + 16 + length])
        offset += 16 + length
    assert request in records and reply.raw in records, \
        f"{len(records)} frames recorded, not the request and its reply"
