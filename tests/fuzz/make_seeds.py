#!/usr/bin/env python3
"""Writes the fuzz targets' seed inputs into tests/fuzz/corpus/<target>: for each target a
few inputs that reach deep into what it tests, in the input format its harness decodes
(the harnesses are in tests/unit; each file says its format), so that the fuzzer starts
past the parts it would take long to find (checksums, DHCP's magic cookie, a valid ELF
image, a configuration space with capabilities, a working exchange with a device).

    tests/fuzz/make_seeds.py [TARGET...]   (run from anywhere; overwrites those seeds)

The ELF seeds are tests/fuzz/SeedDomain.swift built and linked as a domain is, which
needs the Swift toolchain (SWIFT_BIN, /opt/swift/usr/bin by default).
"""
import os
import subprocess
import sys
import pathlib
import struct

HERE = pathlib.Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
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
FRAME_SEEDS = {
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


def u16(value):
    return struct.pack("<H", value)


def u32(value):
    return struct.pack("<I", value)


def u64(value):
    return struct.pack("<Q", value)


# ---- elf: a domain image (ELFFuzzing.swift) ------------------------------------------------

def elf_seeds():
    """The seed domain, stripped as boot modules are not, and as the linker left it."""
    swift_bin = pathlib.Path(os.environ.get("SWIFT_BIN", "/opt/swift/usr/bin"))
    # Always the same folder: the image records the object's path, and the seed should
    # come out the same each time.
    scratch = HERE.parent.parent / "build" / "fuzz-seeds"
    scratch.mkdir(parents=True, exist_ok=True)
    subprocess.run([
        swift_bin / "swiftc", "-target", "x86_64-unknown-none-elf",
        "-enable-experimental-feature", "Embedded", "-enable-experimental-feature", "Extern",
        "-wmo", "-Osize", "-parse-as-library", "-swift-version", "6",
        "-Xfrontend", "-disable-stack-protector", "-module-name", "SeedDomain",
        "-c", HERE / "SeedDomain.swift", "-o", scratch / "seed.o"], check=True)
    subprocess.run([
        swift_bin / "ld.lld", "-shared", "--hash-style=sysv", "-z", "max-page-size=4096",
        "-z", "noexecstack", scratch / "seed.o", "-o", scratch / "seed.so"], check=True)
    subprocess.run([swift_bin / "llvm-objcopy", "--strip-all", scratch / "seed.so",
                    scratch / "stripped.so"], check=True)
    return {"domain": (scratch / "stripped.so").read_bytes(),
            "domain-with-sections": (scratch / "seed.so").read_bytes()}


# ---- multiboot: boot information (BootInfoFuzzing.swift) ---------------------------------

MB_BASE = 0x1_0000


def cstring(text):
    return text.encode() + b"\0"


def multiboot1_qemu():
    """What QEMU's -kernel gives: every pointer into the input, at MB_BASE."""
    memory = bytearray(0x140)
    command_line, modules, names, memory_map, loader = 0x48, 0x80, 0xA0, 0xC0, 0x130
    memory[command_line:command_line + 34] = cstring("/boot/swiftlet.elf test=all quiet")
    memory[names:names + 9] = cstring("hello.so")
    memory[names + 16:names + 24] = cstring("echo.so")
    memory[modules:modules + 32] = (
        u32(0x20_0000) + u32(0x21_0000) + u32(MB_BASE + names) + u32(0)
        + u32(0x21_0000) + u32(0x21_8000) + u32(MB_BASE + names + 16) + u32(0))
    regions = [(0, 0x9_FC00, 1), (0x9_FC00, 0x400, 2), (0x10_0000, 0x7EE_0000, 1),
               (0xFFFC_0000, 0x4_0000, 2)]
    entries = b"".join(u32(20) + u64(base) + u64(length) + u32(kind) for base, length, kind in regions)
    memory[memory_map:memory_map + len(entries)] = entries
    memory[loader:loader + 5] = cstring("qemu")
    flags = 1 | 4 | 8 | 0x40 | 0x200
    info = bytearray(68)
    info[0:12] = u32(flags) + u32(639) + u32(130048)
    info[16:28] = u32(MB_BASE + command_line) + u32(2) + u32(MB_BASE + modules)
    info[44:52] = u32(len(entries)) + u32(MB_BASE + memory_map)
    info[64:68] = u32(MB_BASE + loader)
    memory[0:68] = info
    return bytes([0]) + bytes(memory)


def multiboot1_bounds():
    """Only the lower and upper memory sizes, and a command line."""
    info = bytearray(68)
    info[0:12] = u32(1 | 4) + u32(639) + u32(130048)
    info[16:20] = u32(MB_BASE + 68)
    return bytes([0]) + bytes(info) + cstring("quiet bench=quick")


def mb2_tag(kind, body):
    tag = u32(kind) + u32(8 + len(body)) + body
    return tag + b"\0" * (-len(tag) % 8)


def multiboot2_grub():
    """What GRUB gives: one block of tags."""
    regions = [(0, 0x9_FC00, 1), (0x10_0000, 0x7EE_0000, 1), (0x7FE_0000, 0x2_0000, 3),
               (0xFEFF_C000, 0x4000, 2)]
    tags = (mb2_tag(1, cstring("test=heap*"))
            + mb2_tag(2, cstring("GRUB 2.06"))
            + mb2_tag(3, u32(0x20_0000) + u32(0x21_0000) + cstring("/boot/hello.so"))
            + mb2_tag(3, u32(0x21_0000) + u32(0x21_8000) + cstring("/boot/echo.so"))
            + mb2_tag(4, u32(639) + u32(130048))
            + mb2_tag(6, u32(24) + u32(0) + b"".join(
                u64(base) + u64(length) + u32(kind) + u32(0) for base, length, kind in regions))
            + mb2_tag(0, b""))
    return bytes([1]) + u32(8 + len(tags)) + u32(0) + tags


MULTIBOOT_SEEDS = {
    "multiboot1-qemu": multiboot1_qemu(),
    "multiboot1-bounds": multiboot1_bounds(),
    "multiboot2-grub": multiboot2_grub(),
}


# ---- pci: configuration spaces (PCIFuzzing.swift) ----------------------------------------

class Function:
    """One function's configuration space and BAR masks, as PCIFuzzing reads them."""

    def __init__(self, bus, device, function, vendor, device_id, class_code, subclass,
                 header_type=0):
        self.address = bytes([bus, device, function])
        self.space = bytearray(256)
        self.space[0:4] = u16(vendor) + u16(device_id)
        self.space[0x0A] = subclass
        self.space[0x0B] = class_code
        self.space[0x0E] = header_type
        self.masks = [0] * 6
        self.capability_link = 0x34
        self.next_capability = 0x40

    def bar(self, index, kind, size, base=0, prefetchable=False):
        offset = 0x10 + 4 * index
        if kind == "io":
            self.space[offset:offset + 4] = u32(base | 1)
            self.masks[index] = 0xFFFF & ~(size - 1) & ~3
        elif kind == "mem32":
            self.space[offset:offset + 4] = u32(base | (8 if prefetchable else 0))
            self.masks[index] = 0xFFFF_FFFF & ~(size - 1) & ~0xF
        else:
            self.space[offset:offset + 8] = u64(base | 4 | (8 if prefetchable else 0))
            self.masks[index] = 0xFFFF_FFFF & ~(size - 1) & ~0xF
            self.masks[index + 1] = 0xFFFF_FFFF & ~((size - 1) >> 32)
        return self

    def capability(self, capability_id, body):
        offset = self.next_capability
        self.space[offset] = capability_id
        self.space[offset + 2:offset + 2 + len(body)] = body
        self.space[self.capability_link] = offset
        self.capability_link = offset + 1
        self.next_capability = (offset + 2 + len(body) + 3) & ~3
        self.space[0x06] |= 0x10
        return self

    def encode(self):
        return self.address + bytes(self.space) + b"".join(u32(mask) for mask in self.masks)


def pci_seed(functions):
    return bytes([len(functions) - 1]) + b"".join(function.encode() for function in functions)


def pci_i440fx():
    """QEMU's i440fx as qboot leaves it: nothing assigned; a virtio-net with MSI-X and
    virtio capabilities, an e1000."""
    host = Function(0, 0, 0, 0x8086, 0x1237, 6, 0)
    isa = Function(0, 1, 0, 0x8086, 0x7000, 6, 1, header_type=0x80)
    net = Function(0, 3, 0, 0x1AF4, 0x1041, 2, 0).bar(1, "mem32", 0x1000).bar(
        4, "mem64", 0x4000, prefetchable=True)
    # MSI-X: 3 entries, table at BAR1 + 0, pending bits at BAR1 + 0x800.
    net.capability(0x11, u16(2) + u32(1) + u32(0x800 | 1))
    for kind, offset in [(1, 0), (3, 0x1000), (4, 0x2000), (2, 0x3000)]:
        body = bytes([16 if kind != 2 else 20, kind, 4, 0, 0, 0]) + u32(offset) + u32(0x1000)
        net.capability(0x09, body + (u32(4) if kind == 2 else b""))
    e1000 = Function(0, 4, 0, 0x8086, 0x100E, 2, 0).bar(0, "mem32", 0x2_0000).bar(1, "io", 0x40)
    e1000.space[0x3D] = 1
    e1000.space[0x3C] = 11
    return pci_seed([host, isa, net, e1000])


def pci_bridge():
    """A bridge to bus 1, and behind it a function with MSI and power management, its BAR
    assigned by firmware."""
    host = Function(0, 0, 0, 0x8086, 0x1237, 6, 0)
    bridge = Function(0, 5, 0, 0x1B36, 0x0001, 6, 4, header_type=1)
    bridge.space[0x19] = 1
    bridge.space[0x1A] = 1
    device = Function(1, 0, 0, 0x8086, 0x10D3, 2, 0).bar(0, "mem32", 0x1000, base=0xFEB0_0000)
    device.space[0x04] = 0x06
    device.capability(0x01, u16(0x0003) + u16(0))
    device.capability(0x05, u16(0x0180 | 0x0006) + bytes(20))
    return pci_seed([host, bridge, device])


PCI_SEEDS = {"i440fx": pci_i440fx(), "bridge": pci_bridge()}


# ---- virtio-pci: a virtio device's configuration space (VirtioPCIFuzzing.swift) ----------

def virtio_space(device_configuration=True, bar=4):
    """QEMU's layout for a modern virtio-blk: MSI-X first, then virtio's capabilities,
    every structure in one BAR with the notification multiplier 4."""
    space = bytearray(256)
    space[0:4] = u16(0x1AF4) + u16(0x1042)
    space[0x2E:0x30] = u16(2)
    space[0x06] = 0x10

    def virtio(kind, where, offset, length, multiplier=None, in_bar=bar):
        body = bytes([0x09, 0, 20 if multiplier is not None else 16, kind, in_bar, 0, 0, 0])
        body += u32(offset) + u32(length) + (u32(multiplier) if multiplier is not None else b"")
        return where, body

    capabilities = [(0x98, bytes([0x11, 0, 0, 0])), virtio(5, 0x84, 0, 0, in_bar=0),
                    virtio(2, 0x70, 0x3000, 0x1000, multiplier=4), virtio(3, 0x50, 0x1000, 0x1000),
                    virtio(1, 0x40, 0, 0x1000)]
    if device_configuration:
        capabilities.insert(3, virtio(4, 0x60, 0x2000, 0x1000))
    space[0x34] = capabilities[0][0]
    for index, (where, body) in enumerate(capabilities):
        space[where:where + len(body)] = body
        space[where + 1] = capabilities[index + 1][0] if index + 1 < len(capabilities) else 0
    return bytes(space)


VIRTIO_PCI_SEEDS = {
    "qemu-block": bytes([4]) + virtio_space(),
    "no-device-configuration": bytes([4]) + virtio_space(device_configuration=False),
    # The capabilities name BAR 2; the registers answer at BAR 4.
    "registers-in-another-bar": bytes([4]) + virtio_space(bar=2),
}


# ---- virtqueue (VirtQueueFuzzing.swift) ----------------------------------------------------
# Operations: 0 add, 1 publish, 2 device takes, 3 honest use, 4 bogus use, 5 used index,
# 6 next used, 7 release, 8 interrupts and hasUsed, 9 no-notify.

def chain(*buffers):
    """An add: each buffer (length, writable) with a one-byte selector that is not 0 mod 8."""
    return bytes([0, len(buffers) - 1]) + b"".join(
        bytes([1]) + u16(length) + bytes([writable]) for length, writable in buffers)


VIRTQUEUE_ROUND_TRIP = (
    bytes([3])  # 8 entries
    + chain((16, 0), (64, 1)) + chain((100, 1)) + bytes([1, 2])
    + bytes([3]) + u32(64) + bytes([3]) + u32(50)
    + bytes([6, 6, 7, 0, 7, 0, 8, 1])
    + chain((16, 0), (4096, 1), (1, 1)) + bytes([1, 2, 3]) + u32(4097) + bytes([6, 7, 0]))

VIRTQUEUE_SEEDS = {
    "round-trip": VIRTQUEUE_ROUND_TRIP,
    # Then a used entry naming a descriptor that heads no chain at the device.
    "bogus-id": VIRTQUEUE_ROUND_TRIP + chain((8, 1)) + bytes([1, 2, 4, 1, 5]) + u32(8) + bytes([1, 6]),
}


# ---- virtio-blk (BlockFuzzing.swift) --------------------------------------------------------
# Operations: 0-2 submit, 3 kick, 4-5 the device works, 6 poll, 7 collect, 8 batch,
# 9 interrupt, 10 stop, 11 device needs reset, 12-13 the device breaks the protocol.

def block_read(block, buffer):
    return bytes([block, 0, buffer, 1])


BLOCK_FLUSH = bytes([0, 3])

BLOCK_SEEDS = {
    # Completes when notified; 128 entries; sector 7 fails, so block 0 reads fail.
    "reads-and-flush": bytes([0xEB])
    + bytes([0]) + block_read(1, 0) + bytes([0]) + BLOCK_FLUSH + bytes([3, 6, 6, 7, 0, 7, 0])
    + bytes([8, 2]) + block_read(1, 1) + block_read(0, 2) + block_read(1, 3),
    # Completes when told; a used id that names no request after an honest completion.
    "device-misbehaves": bytes([0x01])
    + bytes([0]) + block_read(1, 0) + bytes([0]) + block_read(1, 1) + bytes([3])
    + bytes([4, 1, 0]) + bytes([6, 7, 0]) + bytes([12, 0, 1, 5, 4, 1, 0, 6, 7, 0]),
}


# ---- virtio-net (NetworkFuzzing.swift) and e1000 (E1000Fuzzing.swift) ------------------
# An operation is one byte out of 32, the first of each range here; then its arguments.
POST, PUBLISH_RECEIVE, FRAME, TAKE, QUEUE, PUBLISH_TRANSMIT, SEND, TAKE_SENT = (
    0, 4, 6, 10, 14, 17, 19, 21)
MISBEHAVE, NET_STOP, NET_RESTART, E1000_RESTART = 24, 28, 29, 29


def net_frame(length, seed):
    """A frame of 14 + `length` bytes (selector not 0 mod 8, then the length past 14)."""
    return bytes([1]) + u16(length) + bytes([seed])


def echo(post_argument):
    """Two buffers posted, two frames in, two frames out, as an echo does it."""
    return (
        bytes([POST, 0, post_argument, POST, 1, post_argument, PUBLISH_RECEIVE])
        + bytes([FRAME]) + net_frame(46, 1) + bytes([FRAME]) + net_frame(1500, 2)
        + bytes([TAKE, TAKE])
        + bytes([QUEUE, 2]) + net_frame(46, 3) + bytes([QUEUE, 3]) + net_frame(1500, 4)
        + bytes([PUBLISH_TRANSMIT, SEND, TAKE_SENT, TAKE_SENT]))


# virtio-net: a post's argument picks the buffer's length (0: a whole 2060 bytes).
NET_ECHO = echo(0)

NET_SEEDS = {
    "echo": bytes([0x03]) + NET_ECHO,
    # A used id the driver never gave, then a new driver on the reset device.
    "restart": bytes([0x02]) + NET_ECHO
    + bytes([POST, 5, 0, PUBLISH_RECEIVE, MISBEHAVE, 0, 0, 1, 3, FRAME]) + net_frame(46, 5)
    + bytes([TAKE, NET_RESTART]) + NET_ECHO,
}

# e1000: a post's argument is not 0 mod 8 for a whole 2048-byte buffer.
E1000_ECHO = echo(1)

E1000_SEEDS = {
    "echo": bytes([0x01]) + E1000_ECHO,
    # The MAC address from the EEPROM; a write-back with a bad length, then a restart.
    "eeprom-restart": bytes([0x09]) + u16(0x5452) + u16(0x1200) + u16(0x5634) + E1000_ECHO
    + bytes([MISBEHAVE, 0, 1]) + u16(4000) + bytes([0, 0, POST, 2, 1, PUBLISH_RECEIVE])
    + bytes([FRAME]) + net_frame(46, 5) + bytes([TAKE, E1000_RESTART]) + E1000_ECHO,
}


# ---- shared-heap (SharedHeapFuzzing.swift) -------------------------------------------------
# Operations: 0-1 allocate, 2 free, 3 move, 4 send, 5 adopt, 6 adopt a deque, 7 free
# undelivered, 8 lend, 9 give back, 10 free an orphan, 11 reclaim, 12 reclaim sent,
# 13 a domain writes, 14-15 look up.

def heap_allocate(size_choice, owner, tag, thread=0, limit=0):
    """Sizes 0, 1, 16, 64, 100, 1000, 6000; alignment 16; owners 0, 1, 2, 3, 255, 300."""
    return bytes([0, size_choice, 0, 1, 4, owner, tag, thread, limit])


def live(index):
    return bytes([4, index])


HEAP_DEQUE = (
    bytes([0])  # no kernel reserve
    + heap_allocate(3, 1, 0) + heap_allocate(3, 1, 0) + heap_allocate(3, 1, 0)
    + bytes([4, 0, 1, 4, 1, 1, 4, 2, 1])  # sent on thread 1
    # Adopted by 2 from 1: a new ring of 4 slots listing the three from slot 0.
    + bytes([6, 2, 1, 4, 1, 1, 0, 1, 3]) + live(0) + live(1) + live(2) + live(0) + bytes([1])
    + bytes([8, 0, 0, 11, 2, 9, 0])  # lent, its owner dies, given back: freed
    + heap_allocate(4, 3, 2, limit=4))

HEAP_SEEDS = {
    "deque-adoption": HEAP_DEQUE,
    # Moves, a refused adoption, what never arrived, a thread unwound, a stale pointer.
    "moves-and-refusals": bytes([16])
    + heap_allocate(2, 1, 0) + heap_allocate(4, 2, 1) + heap_allocate(1, 0, 2)
    + bytes([3]) + live(2) + bytes([0, 1])  # the kernel's payload moved to 1
    + bytes([4, 0, 2, 5]) + live(0) + bytes([3, 2, 0])  # sent by 1; 3 adopts it from 2: no
    + bytes([7]) + live(0) + bytes([1])  # its sender takes it back
    + bytes([4, 0, 2, 12, 2, 0])  # the other sent on thread 2, which unwinds
    + bytes([2]) + live(0) + bytes([1])  # the moved one freed by its new owner
    + bytes([2, 0, 0, 1])  # a stale pointer freed: refused
    + heap_allocate(5, 4, 0) + bytes([13, 0]) + u16(3) + bytes([5, 0x5A]),
}


TARGETS = {
    "frames": lambda: {name: data for name, data in FRAME_SEEDS.items()},
    "elf": elf_seeds,
    "multiboot": lambda: MULTIBOOT_SEEDS,
    "pci": lambda: PCI_SEEDS,
    "virtqueue": lambda: VIRTQUEUE_SEEDS,
    "virtio-pci": lambda: VIRTIO_PCI_SEEDS,
    "virtio-blk": lambda: BLOCK_SEEDS,
    "virtio-net": lambda: NET_SEEDS,
    "e1000": lambda: E1000_SEEDS,
    "shared-heap": lambda: HEAP_SEEDS,
}


def main():
    targets = sys.argv[1:] or list(TARGETS)
    for target in targets:
        folder = CORPUS / target
        folder.mkdir(parents=True, exist_ok=True)
        seeds = TARGETS[target]()
        for name, data in seeds.items():
            (folder / name).write_bytes(data)
        print(f"{target}: {len(seeds)} seeds in {folder}")


if __name__ == "__main__":
    main()
