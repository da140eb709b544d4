#!/usr/bin/env python3
"""Writes the fuzzer's seed inputs into tests/fuzz/corpus: one well-formed frame of each
kind the stack handles (and a DHCP exchange), in the input format of
tests/unit/PacketsTests/FrameFuzzing.swift, so that the fuzzer starts past the parts
it would take long to find (checksums, DHCP's magic cookie and transaction).

    tests/fuzz/make_seeds.py        (run from anywhere; overwrites the seed-* files)
"""
import pathlib
import struct

CORPUS = pathlib.Path(__file__).resolve().parent / "corpus"
US_MAC = bytes.fromhex("525400123456")
PEER_MAC = bytes.fromhex("52550a000202")
BROADCAST_MAC = b"\xff" * 6
US = bytes([10, 0, 2, 15])
PEER = bytes([10, 0, 2, 2])
BROADCAST = b"\xff" * 4

FIXED, DHCP = 0x00, 0x01
STEP_MS = 0x02  # bits 1-3: 1 ms between frames
FIX_CHECKSUMS = 0x10
SEED, CLOCK = 0x0123_4567_89AB_CDEF, 1_000_000_000
DHCP_TRANSACTION = (SEED ^ int.from_bytes(US_MAC, "big") ^ (SEED >> 29) ^ CLOCK) & 0xFFFF_FFFF


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ethernet(payload, kind, to=US_MAC, source=PEER_MAC):
    return to + source + struct.pack("!H", kind) + payload


def ipv4(payload, protocol, source=PEER, to=US, ttl=64, flags=0x4000, options=b""):
    words = 5 + len(options) // 4
    header = struct.pack("!BBHHHBBH4s4s", 0x40 | words, 0, 20 + len(options) + len(payload),
                         0x1234, flags, ttl, protocol, 0, source, to) + options
    header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
    return header + payload


def udp(payload, source_port, port, source=PEER, to=US):
    length = 8 + len(payload)
    datagram = struct.pack("!HHHH", source_port, port, length, 0) + payload
    value = checksum(source + to + struct.pack("!BBH", 0, 17, length) + datagram) or 0xFFFF
    return datagram[:6] + struct.pack("!H", value) + datagram[8:]


def icmp_echo(kind, identifier, sequence, data):
    message = struct.pack("!BBHHH", kind, 0, 0, identifier, sequence) + data
    return message[:2] + struct.pack("!H", checksum(message)) + message[4:]


def arp(operation, sender_mac=PEER_MAC, sender=PEER, target_mac=b"\0" * 6, target=US):
    return struct.pack("!HHBBH", 1, 0x0800, 6, 4, operation) + sender_mac + sender + target_mac + target


def dhcp_reply(kind, transaction):
    bootp = bytearray(548)
    bootp[0:4] = bytes([2, 1, 6, 0])
    bootp[4:8] = struct.pack("!I", transaction)
    bootp[16:20] = US
    bootp[20:24] = PEER
    bootp[28:34] = US_MAC
    options = bytes([99, 130, 83, 99, 53, 1, kind, 54, 4]) + PEER + bytes([1, 4, 255, 255, 255, 0, 3, 4])
    options += PEER + bytes([6, 4, 10, 0, 2, 3, 51, 4]) + struct.pack("!I", 86400) + b"\xff"
    bootp[236:236 + len(options)] = options
    return ethernet(ipv4(udp(bytes(bootp), 67, 68, to=BROADCAST), 17, to=BROADCAST), 0x0800,
                    to=BROADCAST_MAC)


def pad(frame):
    return frame + b"\0" * max(0, 60 - len(frame))


def seed(control, *frames):
    return bytes([control]) + b"".join(struct.pack("!H", len(f)) + f for f in frames)


PING = ethernet(ipv4(icmp_echo(8, 0x1234, 1, bytes(range(56))), 1), 0x0800)
SEEDS = {
    "arp-request": seed(FIXED, pad(ethernet(arp(1), 0x0806, to=BROADCAST_MAC))),
    "arp-reply": seed(FIXED, pad(ethernet(arp(2, target_mac=US_MAC), 0x0806))),
    "ping": seed(FIXED, PING),
    "ping-with-options": seed(FIXED, ethernet(ipv4(icmp_echo(8, 1, 2, b"abcd"), 1,
                                                   options=b"\x01\x01\x01\x00"), 0x0800)),
    "echo-reply": seed(FIXED, ethernet(ipv4(icmp_echo(0, 0x0123, 7, b""), 1), 0x0800)),
    "udp-echo": seed(FIXED, pad(ethernet(ipv4(udp(b"hello", 5555, 7), 17), 0x0800))),
    "udp-largest": seed(FIXED, ethernet(ipv4(udp(bytes(1472), 5555, 7), 17), 0x0800)),
    "udp-then-arp": seed(FIXED | STEP_MS,
                         ethernet(ipv4(udp(b"x" * 100, 40000, 7, source=bytes([10, 0, 2, 9])), 17,
                                       source=bytes([10, 0, 2, 9])), 0x0800),
                         pad(ethernet(arp(2, sender=bytes([10, 0, 2, 9]), target_mac=US_MAC), 0x0806))),
    "fragment": seed(FIXED, ethernet(ipv4(icmp_echo(8, 1, 1, b""), 1, flags=0x2000), 0x0800)),
    "expiry": seed(FIXED | 0x0C, pad(ethernet(arp(1), 0x0806, to=BROADCAST_MAC)), PING, PING),
    "fix-checksums": seed(FIXED | FIX_CHECKSUMS, PING),
    # The transaction the client starts with, given FrameFuzzing's seed, MAC and clock.
    "dhcp-exchange": seed(DHCP, dhcp_reply(2, DHCP_TRANSACTION), dhcp_reply(5, DHCP_TRANSACTION)),
    "ipv6": seed(FIXED, ethernet(bytes(40), 0x86DD)),
}


def main():
    CORPUS.mkdir(exist_ok=True)
    for name, data in SEEDS.items():
        (CORPUS / f"seed-{name}").write_bytes(data)
    print(f"{len(SEEDS)} seeds in {CORPUS}")


if __name__ == "__main__":
    main()
