"""Ethernet frames built and parsed with `struct`, and the test's end of the raw-frame port.

The builders take every field a malformed frame might get wrong as an argument, so a
test starts from a frame the guest would answer (an ARP request, a ping, a datagram to
its echo port) and breaks one thing. The parsers never raise on bad input: they return
None, so whatever the guest sends can be looked at. `FramePort` is the test's side of
`scripts/qemu.sh --frames`: it sees every frame on the hub (the guest's and slirp's) and
injects frames as if from another host on the guest's network.
"""
import dataclasses
import socket
import struct
import threading
import time

GUEST_IP = "10.0.2.15"
GATEWAY_IP = "10.0.2.2"  # slirp: answers ARP and pings, serves DHCP
GUEST_MAC = "52:54:00:12:34:56"  # QEMU's address for the first NIC
SLIRP_MAC = "52:55:0a:00:02:02"
BROADCAST_MAC = "ff:ff:ff:ff:ff:ff"

ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_ARP = 0x0806
ETHERTYPE_IPV6 = 0x86DD
PROTOCOL_ICMP = 1
PROTOCOL_UDP = 17
PROTOCOL_ICMPV6 = 58
ARP_REQUEST, ARP_REPLY = 1, 2
ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST = 0, 8
ICMPV6_ROUTER_SOLICITATION, ICMPV6_ROUTER_ADVERTISEMENT = 133, 134
IP_MORE_FRAGMENTS = 0x2000
ETHERNET_HEADER = 14
LARGEST_FRAME = 1514  # without the FCS: 1500 bytes of IP
SO_RCVBUFFORCE = 33  # Linux; Python's socket module does not name it


def mac_bytes(text):
    return bytes(int(part, 16) for part in text.split(":"))


def mac_text(raw):
    return ":".join(f"{byte:02x}" for byte in raw)


def ip_bytes(text):
    return socket.inet_aton(text)


def ip_text(raw):
    return socket.inet_ntoa(raw)


def internet_checksum(data):
    """RFC 1071: the ones' complement of the ones' complement sum of 16-bit words."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ethernet(destination, source, ethertype, payload):
    return mac_bytes(destination) + mac_bytes(source) + struct.pack("!H", ethertype) + payload


def arp(operation, sender_mac, sender_ip, target_mac, target_ip, hardware_type=1,
        protocol_type=ETHERTYPE_IPV4, hardware_length=6, protocol_length=4):
    """An ARP packet. Odd lengths stretch or cut each address to the length claimed, so
    the packet is consistent with its own header and wrong only in what it claims."""
    def sized(raw, length):
        return raw[:length].ljust(length, b"\0")
    return (struct.pack("!HHBBH", hardware_type, protocol_type, hardware_length, protocol_length,
                        operation)
            + sized(mac_bytes(sender_mac), hardware_length) + sized(ip_bytes(sender_ip), protocol_length)
            + sized(mac_bytes(target_mac), hardware_length) + sized(ip_bytes(target_ip), protocol_length))


def ipv4(source, destination, protocol, payload, ttl=64, identification=0, fragment=0,
         header_words=5, total_length=None, checksum=None, version=4):
    """An IPv4 packet. `fragment` is the flags-and-offset word; `header_words` the IHL
    (options are zero bytes); `total_length` and `checksum` override the right values."""
    options = b"\0" * max(0, 4 * header_words - 20)
    if total_length is None:
        total_length = 20 + len(options) + len(payload)
    header = struct.pack("!BBHHHBBH4s4s", (version << 4) | (header_words & 0xF), 0, total_length,
                         identification, fragment, ttl, protocol, 0, ip_bytes(source),
                         ip_bytes(destination)) + options
    if checksum is None:
        checksum = internet_checksum(header)
    return header[:10] + struct.pack("!H", checksum) + header[12:] + payload


def icmp_echo(identifier, sequence, payload, kind=ICMP_ECHO_REQUEST, checksum=None):
    message = struct.pack("!BBHHH", kind, 0, 0, identifier, sequence) + payload
    if checksum is None:
        checksum = internet_checksum(message)
    return message[:2] + struct.pack("!H", checksum) + message[4:]


def udp(source_ip, destination_ip, source_port, destination_port, payload, length=None,
        checksum=None):
    """A UDP datagram; the checksum covers the pseudo-header (0 means none sent)."""
    if length is None:
        length = 8 + len(payload)
    datagram = struct.pack("!HHHH", source_port, destination_port, length, 0) + payload
    if checksum is None:
        pseudo = ip_bytes(source_ip) + ip_bytes(destination_ip) + struct.pack(
            "!BBH", 0, PROTOCOL_UDP, len(datagram))
        checksum = internet_checksum(pseudo + datagram) or 0xFFFF
    return datagram[:6] + struct.pack("!H", checksum) + datagram[8:]


@dataclasses.dataclass(frozen=True)
class Host:
    """A made-up host on the guest's network, whose frames the test sends."""
    mac: str
    ip: str

    def arp_request(self, target_ip, **fields):
        return ethernet(BROADCAST_MAC, self.mac, ETHERTYPE_ARP,
                        arp(ARP_REQUEST, self.mac, self.ip, "00:00:00:00:00:00", target_ip, **fields))

    def arp_reply(self, to_mac, to_ip):
        return ethernet(to_mac, self.mac, ETHERTYPE_ARP,
                        arp(ARP_REPLY, self.mac, self.ip, to_mac, to_ip))

    def ping(self, identifier, sequence, payload=b"swiftlet ping", to_ip=GUEST_IP,
             to_mac=GUEST_MAC, icmp_checksum=None, **ip_fields):
        message = icmp_echo(identifier, sequence, payload, checksum=icmp_checksum)
        return ethernet(to_mac, self.mac, ETHERTYPE_IPV4,
                        ipv4(self.ip, to_ip, PROTOCOL_ICMP, message, **ip_fields))

    def datagram(self, source_port, destination_port, payload, to_ip=GUEST_IP, to_mac=GUEST_MAC,
                 udp_length=None, udp_checksum=None, **ip_fields):
        message = udp(self.ip, to_ip, source_port, destination_port, payload, length=udp_length,
                      checksum=udp_checksum)
        return ethernet(to_mac, self.mac, ETHERTYPE_IPV4,
                        ipv4(self.ip, to_ip, PROTOCOL_UDP, message, **ip_fields))

    def router_solicitation(self):
        """ICMPv6 router solicitation from the host's link-local address (slirp answers it
        with a router advertisement)."""
        source = bytes.fromhex("fe80000000000000") + bytes.fromhex("0200000000000001")
        destination = bytes.fromhex("ff020000000000000000000000000002")  # all routers
        message = struct.pack("!BBHI", ICMPV6_ROUTER_SOLICITATION, 0, 0, 0)
        pseudo = source + destination + struct.pack("!I3xB", len(message), PROTOCOL_ICMPV6)
        message = message[:2] + struct.pack("!H", internet_checksum(pseudo + message)) + message[4:]
        header = struct.pack("!IHBB", 6 << 28, len(message), PROTOCOL_ICMPV6, 255)
        return ethernet("33:33:00:00:00:02", self.mac, ETHERTYPE_IPV6,
                        header + source + destination + message)


# ---- Parsing: None for anything malformed ---------------------------------------------

@dataclasses.dataclass(frozen=True)
class Frame:
    destination: str
    source: str
    ethertype: int
    payload: bytes
    raw: bytes

    def arp(self):
        return parse_arp(self.payload) if self.ethertype == ETHERTYPE_ARP else None

    def ipv4(self):
        return parse_ipv4(self.payload) if self.ethertype == ETHERTYPE_IPV4 else None

    def icmp_echo(self):
        packet = self.ipv4()
        if packet and packet.protocol == PROTOCOL_ICMP:
            return parse_icmp_echo(packet.payload)
        return None

    def udp(self):
        packet = self.ipv4()
        if packet and packet.protocol == PROTOCOL_UDP:
            return parse_udp(packet)
        return None

    def icmpv6_type(self):
        """The ICMPv6 message type, for a frame that carries one without extension headers."""
        if self.ethertype != ETHERTYPE_IPV6 or len(self.payload) < 41 or self.payload[6] != PROTOCOL_ICMPV6:
            return None
        return self.payload[40]


@dataclasses.dataclass(frozen=True)
class ARP:
    operation: int
    sender_mac: str
    sender_ip: str
    target_mac: str
    target_ip: str


@dataclasses.dataclass(frozen=True)
class IPv4:
    source: str
    destination: str
    protocol: int
    ttl: int
    fragment: int
    header_checksum_ok: bool
    payload: bytes  # cut to the total length


@dataclasses.dataclass(frozen=True)
class ICMPEcho:
    kind: int
    identifier: int
    sequence: int
    payload: bytes
    checksum_ok: bool


@dataclasses.dataclass(frozen=True)
class UDP:
    source_port: int
    destination_port: int
    payload: bytes
    checksum_ok: bool  # True when no checksum was sent


def parse_ethernet(raw):
    if len(raw) < ETHERNET_HEADER:
        return None
    (ethertype,) = struct.unpack_from("!H", raw, 12)
    return Frame(mac_text(raw[0:6]), mac_text(raw[6:12]), ethertype, raw[ETHERNET_HEADER:], raw)


def parse_arp(payload):
    if len(payload) < 28:
        return None
    hardware_type, protocol_type, hardware_length, protocol_length, operation = struct.unpack_from(
        "!HHBBH", payload)
    if (hardware_type, protocol_type, hardware_length, protocol_length) != (1, ETHERTYPE_IPV4, 6, 4):
        return None
    return ARP(operation, mac_text(payload[8:14]), ip_text(payload[14:18]),
               mac_text(payload[18:24]), ip_text(payload[24:28]))


def parse_ipv4(payload):
    if len(payload) < 20 or payload[0] >> 4 != 4:
        return None
    header_length = 4 * (payload[0] & 0xF)
    (total_length,) = struct.unpack_from("!H", payload, 2)
    if header_length < 20 or not header_length <= total_length <= len(payload):
        return None
    (fragment,) = struct.unpack_from("!H", payload, 6)
    return IPv4(ip_text(payload[12:16]), ip_text(payload[16:20]), payload[9], payload[8], fragment,
                internet_checksum(payload[:header_length]) == 0,
                payload[header_length:total_length])


def parse_icmp_echo(message):
    if len(message) < 8 or message[0] not in (ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST):
        return None
    identifier, sequence = struct.unpack_from("!HH", message, 4)
    return ICMPEcho(message[0], identifier, sequence, message[8:], internet_checksum(message) == 0)


def parse_udp(packet):
    message = packet.payload
    if len(message) < 8:
        return None
    source_port, destination_port, length, checksum = struct.unpack_from("!HHHH", message)
    if not 8 <= length <= len(message):
        return None
    pseudo = ip_bytes(packet.source) + ip_bytes(packet.destination) + struct.pack(
        "!BBH", 0, PROTOCOL_UDP, length)
    checksum_ok = checksum == 0 or internet_checksum(pseudo + message[:length]) == 0
    return UDP(source_port, destination_port, message[8:length], checksum_ok)


# ---- The raw-frame port ---------------------------------------------------------------

def free_udp_port():
    """A UDP port on 127.0.0.1 nobody holds now (inside the test's own namespace, nobody
    else can take it before QEMU does)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class FramePort:
    """The test's end of the hub (`scripts/qemu.sh --frames QEMU_PORT:TEST_PORT`).

    A thread keeps every frame that arrives, from the moment the port opens, so a test
    can look back at what the guest sent during boot (DHCP, say). For the made-up hosts
    in `answer_arp_for` it answers the guest's ARP requests, as a real host would, so the
    guest can reply to them; requests from anyone else (slirp) are left unanswered.
    """

    def __init__(self, guest_mac=GUEST_MAC):
        self.guest_mac = guest_mac
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:  # room for the copies of a whole echo run while nobody reads (as root)
            self.socket.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 8 << 20)
        except OSError:
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        self.socket.bind(("127.0.0.1", 0))
        self.test_port = self.socket.getsockname()[1]
        self.qemu_port = free_udp_port()
        self.frames = []  # (arrival time, Frame)
        self.unparsable = 0
        self.hosts = {}  # ip -> Host
        self.changed = threading.Condition()
        self.closed = False
        self.socket.settimeout(0.2)
        self.receiver = threading.Thread(target=self._receive, name="frames", daemon=True)
        self.receiver.start()

    @property
    def option(self):
        """The value for scripts/qemu.sh --frames."""
        return f"{self.qemu_port}:{self.test_port}"

    def answer_arp_for(self, host):
        self.hosts[host.ip] = host

    def send(self, frame):
        self.socket.sendto(frame, ("127.0.0.1", self.qemu_port))

    def mark(self):
        """A position in the frames seen so far, for `since=`."""
        with self.changed:
            return len(self.frames)

    def frames_since(self, since=0):
        with self.changed:
            return [frame for _, frame in self.frames[since:]]

    def wait_for(self, matches, timeout, since=0):
        """The first frame from position `since` on for which `matches(frame)` is true,
        waiting up to `timeout` seconds for it; None if none came."""
        deadline = time.monotonic() + timeout
        with self.changed:
            checked = since
            while True:
                for _, frame in self.frames[checked:]:
                    if matches(frame):
                        return frame
                checked = len(self.frames)
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.changed.wait(left)

    def from_guest(self, since=0):
        return [frame for frame in self.frames_since(since) if frame.source == self.guest_mac]

    def close(self):
        self.closed = True
        self.receiver.join(timeout=2)
        self.socket.close()

    def _receive(self):
        while not self.closed:
            try:
                raw = self.socket.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            frame = parse_ethernet(raw)
            if frame is None:
                self.unparsable += 1
                continue
            self._answer_arp(frame)
            with self.changed:
                self.frames.append((time.monotonic(), frame))
                self.changed.notify_all()

    def _answer_arp(self, frame):
        request = frame.arp()
        if request is None or request.operation != ARP_REQUEST or frame.source != self.guest_mac:
            return
        host = self.hosts.get(request.target_ip)
        if host is not None:
            self.send(host.arp_reply(request.sender_mac, request.sender_ip))
