#!/usr/bin/env python3
"""Where the guest's instructions go while it echoes UDP datagrams: an exact profile.

    scripts/profile_net.py [--net virtio|e1000] [--count N] [--batch] [--top N] [--output FILE]

Boots the guest under -icount with QEMU's monitor on a socket, waits for the echo, then
switches QEMU to one instruction per translation block and logs every block executed
(`singlestep on`, `log exec,nochain`) while a host client sends COUNT datagrams of 64
bytes one at a time (or, with --batch, in bursts of 32). Each logged block is one guest
instruction, so the log is a complete trace: the script maps every address to the
domain image or kernel function it lies in (the kernel's symbols, and each domain's at
the load address the boot log gives) and prints instructions per echoed datagram by
domain and by function. Tracing is slow (minutes for a hundred datagrams); it changes
no guest timing that matters here, since under -icount the guest's clock follows its
instructions. QEMU and the client run in a network namespace with only loopback.
"""
import argparse
import bisect
import collections
import os
import pathlib
import re
import socket
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "qemu"))
from netguest import Guest, GuestError  # noqa: E402

TOOLS = pathlib.Path("/opt/swift/usr/bin")
LOADED = re.compile(r"domain '([\w.-]+)': running, \d+ KiB image at (0x[0-9a-f]+)")
TRACE = re.compile(rb"^Trace \d+: 0x[0-9a-f]+ \[[0-9a-f]+/([0-9a-f]+)/")
WINDOW = 32


class Monitor:
    """QEMU's human monitor on a Unix socket: one command at a time."""

    def __init__(self, path, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.socket = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.socket.connect(str(path))
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise GuestError(f"QEMU's monitor socket {path} never opened")
                time.sleep(0.2)
        self.socket.settimeout(30)
        self._until_prompt()

    def _until_prompt(self):
        text = b""
        while not text.endswith(b"(qemu) "):
            chunk = self.socket.recv(4096)
            if not chunk:
                raise GuestError("QEMU's monitor closed")
            text += chunk
        return text.decode(errors="replace")

    def command(self, line):
        self.socket.sendall(line.encode() + b"\n")
        answer = self._until_prompt()
        if "unknown command" in answer or "Invalid" in answer:
            raise GuestError(f"monitor: {line!r}: {answer.strip()}")
        return answer


class Symbols:
    """Addresses to (image, function): the kernel's symbols and each domain's, placed at
    its load address."""

    def __init__(self, loaded):
        self.starts, self.names = [], []
        entries = self._read(ROOT / "build" / "swiftlet.elf", 0, "kernel")
        for name, base in loaded.items():
            image = ROOT / "build" / "domains" / f"{name}.so"
            if image.exists():
                entries += self._read(image, base, name)
        entries.sort()
        self.starts = [start for start, _ in entries]
        self.names = [label for _, label in entries]

    def _read(self, path, base, image):
        listing = subprocess.run([str(TOOLS / "llvm-nm"), "-n", "--defined-only", str(path)],
                                 capture_output=True, text=True, check=True).stdout
        entries = []
        for line in listing.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[1] in "tTwW":
                entries.append((base + int(parts[0], 16), (image, parts[2])))
        # The PLT's stubs have no symbols of their own: named after their targets, so a
        # call through one is not charged to the function before it.
        listing = subprocess.run([str(TOOLS / "llvm-objdump"), "-d", "--section=.plt", str(path)],
                                 capture_output=True, text=True).stdout
        for match in re.finditer(r"^([0-9a-f]+) <(\S+@plt)>:", listing, re.MULTILINE):
            entries.append((base + int(match[1], 16), (image, match[2])))
        return entries

    def lookup(self, address):
        index = bisect.bisect_right(self.starts, address) - 1
        if index < 0:
            return ("?", f"{address:#x}")
        return self.names[index]

    def start_of(self, address):
        """The start of the function `address` lies in."""
        index = bisect.bisect_right(self.starts, address) - 1
        return self.starts[index] if index >= 0 else None


def demangle(names):
    """Swift symbol names in their readable form (swift-demangle --simplified)."""
    result = subprocess.run([str(TOOLS / "swift-demangle"), "--simplified", "--compact"],
                            input="\n".join(names), capture_output=True, text=True)
    readable = result.stdout.splitlines()
    return dict(zip(names, readable)) if len(readable) == len(names) else {n: n for n in names}


def workload(address, count, batch):
    """Echoed datagrams; waits long for each (tracing slows QEMU down a hundredfold)."""
    echoed = 0
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
        client.settimeout(120)
        if batch:
            for round in range(max(1, count // WINDOW)):
                for index in range(WINDOW):
                    client.sendto(bytes([index]) * 64, address)
                for _ in range(WINDOW):
                    client.recv(2048)
                    echoed += 1
        else:
            for index in range(count):
                client.sendto(bytes([index % 256]) * 64, address)
                client.recv(2048)
                echoed += 1
    return echoed


def trace_echo(net, count, batch, net_options=None):
    """Boots a guest with `net` (and QEMU's `net_options` for it) under -icount and traces every guest instruction while
    `count` 64-byte datagrams are echoed (in bursts of 32 if `batch`). Returns the echoed
    count, the trace (one address per instruction) and the domains' load addresses."""
    scratch = pathlib.Path(tempfile.mkdtemp(prefix="swiftlet-profile-"))
    monitor_path, log_path = scratch / "monitor", scratch / "trace.log"
    with Guest(net, net_options=net_options, icount=True, monitor=monitor_path,
               timeout=3600) as guest:
        guest.wait_until_up(timeout=180)
        address = ("127.0.0.1", guest.netport)
        workload(address, 8, False)  # warm: ARP resolved, buffers in place
        loaded = {name: int(base, 16) for name, base in LOADED.findall(guest.transcript)}
        monitor = Monitor(monitor_path)
        monitor.command(f"logfile {log_path}")
        monitor.command("singlestep on")
        monitor.command("log exec,nochain")
        echoed = workload(address, count, batch)
        monitor.command("log none")
        monitor.command("singlestep off")
    trace = []
    with open(log_path, "rb") as log:
        for line in log:
            match = TRACE.match(line)
            if match:
                trace.append(int(match.group(1), 16))
    os.unlink(log_path)
    monitor_path.unlink(missing_ok=True)
    scratch.rmdir()
    return echoed, trace, loaded


def report(net, batch, echoed, trace, loaded, top):
    """The Markdown report of a trace: instructions per datagram by image and function."""
    total = len(trace)
    symbols = Symbols(loaded)
    function_of = {address: symbols.lookup(address) for address in set(trace)}
    by_function, by_image = collections.Counter(), collections.Counter()
    calls, callers = collections.Counter(), collections.defaultdict(collections.Counter)
    caller = None  # the function of the last instruction outside a PLT stub
    for address in trace:
        function = function_of[address]
        by_function[function] += 1
        by_image[function[0]] += 1
        if address == symbols.start_of(address) and caller is not None and caller != function:
            calls[function] += 1
            callers[function][caller] += 1
        if not function[1].endswith("@plt"):
            caller = function
    readable = demangle(sorted({name for _, name in by_function}))

    def named(function):
        image, name = function
        return f"`{readable.get(name, name).replace('|', '/')[:100]}` ({image})"

    mode = f"bursts of {WINDOW}" if batch else "one at a time"
    lines = [f"# Guest instructions per echoed 64-byte datagram ({net}, {mode})", "",
             f"{total:,} instructions traced while {echoed} datagrams were echoed: "
             f"{total / max(1, echoed):,.0f} per datagram "
             "(everything the guest ran meanwhile, timer ticks included).", "",
             "| where | per datagram | share |", "|---|---:|---:|"]
    for image, hits in by_image.most_common():
        lines.append(f"| {image} | {hits / echoed:,.0f} | {100 * hits / total:.1f}% |")
    lines += ["", "Functions: instructions and calls per datagram, and where the calls come from.",
              "", "| function | instructions | share | calls | from |", "|---|---:|---:|---:|---|"]
    for function, hits in by_function.most_common(top):
        sources = ", ".join(f"{named(caller)} {count / echoed:.1f}"
                            for caller, count in callers[function].most_common(3))
        lines.append(f"| {named(function)} | {hits / echoed:,.0f} | {100 * hits / total:.1f}% | "
                     f"{calls[function] / echoed:.1f} | {sources} |")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--net", default="virtio", choices=["virtio", "e1000"])
    parser.add_argument("--count", type=int, default=64, help="datagrams echoed while tracing")
    parser.add_argument("--batch", action="store_true", help=f"send in bursts of {WINDOW}")
    parser.add_argument("--top", type=int, default=40, help="functions listed")
    parser.add_argument("--output", help="also write the report here")
    arguments = parser.parse_args()
    echoed, trace, loaded = trace_echo(arguments.net, arguments.count, arguments.batch)
    text = report(arguments.net, arguments.batch, echoed, trace, loaded, arguments.top)
    print(text)
    if arguments.output:
        pathlib.Path(arguments.output).write_text(text)

if __name__ == "__main__":
    try:
        main()
    except GuestError as error:
        sys.exit(f"profile: {error}")
