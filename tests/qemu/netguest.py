"""A Swiftlet guest booted with a NIC and kept running, and the host clients that talk to it.

Network tests and benchmarks first call `enter_loopback_namespace()`: QEMU and every
host client then run in a network namespace with only loopback in it, so neither slirp
(unrestricted: `restrict=on` breaks UDP) nor the guest can reach anything off this
machine, and the forwarded port cannot clash with anyone else's. The guest is ready
when it prints the `net: up` line (a connect to slirp's forwarded port succeeds even
when nothing in the guest listens, so it tells nothing).
"""
import ctypes
import os
import pathlib
import re
import signal
import socket
import subprocess
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
QEMU = ROOT / "scripts" / "qemu.sh"
NICS = ("virtio", "e1000")
DRIVER_NAMES = {"virtio": "virtio_net", "e1000": "e1000"}
ECHO_PORT = 7
LARGEST_DATAGRAM = 1472  # 1500 bytes of IP less the IP and UDP headers
# The stack's line when its address is set; it may carry a log prefix ("[info] [net] ").
# The whole line, up to its newline: the serial transcript grows in chunks, and a match
# on a half-arrived line would read "via virtio" for "via virtio_net".
NET_UP = re.compile(r"(?:^|\] )net: up (?P<address>[\d.]+)/(?P<prefix>\d+) gw (?P<gateway>[\d.]+) "
                    r"mac (?P<mac>[0-9a-f:]{17}) via (?P<driver>\S+)\n", re.MULTILINE)
PROMPT = "swiftlet> "
NET_UP_TIMEOUT = 30
CLONE_NEWNET = 0x40000000


class NamespaceError(RuntimeError):
    pass


def enter_loopback_namespace():
    """Moves this process (and everything it starts from now on) into a new network
    namespace whose only interface is loopback, up. Safe to call more than once."""
    if getattr(enter_loopback_namespace, "entered", False):
        return
    # os.unshare arrived in Python 3.12; libc's does the same on older ones.
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        error = ctypes.get_errno()
        raise NamespaceError(
            f"cannot enter a network namespace of our own (unshare(CLONE_NEWNET): "
            f"{os.strerror(error)}): network tests run QEMU and their clients in one with "
            f"only loopback, so nothing leaves this machine; run them as root "
            f"(or with CAP_SYS_ADMIN)")
    up = subprocess.run(["ip", "link", "set", "lo", "up"], capture_output=True, text=True)
    if up.returncode != 0:
        raise NamespaceError(f"cannot bring loopback up in the new namespace: {up.stderr.strip()}")
    interfaces = network_interfaces()
    if interfaces != ["lo"]:
        raise NamespaceError(f"the new network namespace has {interfaces}, not only loopback")
    enter_loopback_namespace.entered = True


def network_interfaces():
    """The interfaces of this process's network namespace (/sys/class/net shows those
    of the namespace sysfs was mounted in)."""
    with open("/proc/self/net/dev") as table:
        return sorted(line.split(":")[0].strip() for line in table.readlines()[2:])


class GuestError(AssertionError):
    """The guest did not do what the test waited for; the message ends with its console."""


class Guest:
    """scripts/qemu.sh with a NIC, running while the test talks to it.

    The console is kept as one transcript (carriage returns dropped); `command` types a
    shell command and returns what the shell printed before its next prompt. `stop`
    ends stdin, after which qemu.sh sends `shutdown`.
    """

    def __init__(self, nic, netport=5555, frames=None, pcap=None, net_options=None, cmdline="",
                 timeout=600, icount=False, monitor=None, slirp=True):
        enter_loopback_namespace()
        self.nic = nic
        self.netport = netport
        self.args = [str(QEMU), "--timeout", str(timeout), "--net", nic, "--netport", str(netport)]
        self.args += ["--cmdline", cmdline] if cmdline else []
        self.args += ["--frames", frames] if frames else []
        self.args += ["--pcap", str(pcap)] if pcap else []
        self.args += ["--net-options", net_options] if net_options else []
        self.args += ["--icount"] if icount else []
        self.args += ["--monitor", str(monitor)] if monitor else []
        self.args += [] if slirp else ["--no-slirp"]
        self.transcript = ""
        self.stderr = ""
        self.changed = threading.Condition()
        self.started = time.monotonic()
        self.process = subprocess.Popen(self.args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, start_new_session=True)
        self.readers = [threading.Thread(target=self._read, args=(stream, name), daemon=True)
                        for stream, name in ((self.process.stdout, "transcript"),
                                             (self.process.stderr, "stderr"))]
        for reader in self.readers:
            reader.start()
        self.net_up = None  # the NET_UP match, once seen
        self.net_up_error = None
        self.seconds_to_net_up = None

    def __enter__(self):
        return self

    def __exit__(self, *exception):
        self.stop()

    @property
    def lines(self):
        with self.changed:
            return self.transcript.splitlines()

    def tail(self, count=40):
        lines = self.lines
        return (f"\n--- last {min(count, len(lines))} serial lines ({' '.join(self.args[1:])}) ---\n"
                + "\n".join(lines[-count:]) + f"\n--- qemu.sh: {self.stderr.strip()}")

    def wait_for(self, pattern, timeout, start=0, what=None):
        """The first match of `pattern` in the transcript from offset `start`, waiting up
        to `timeout` seconds; raises GuestError (with `what` it waited for) otherwise."""
        pattern = re.compile(pattern) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                match = pattern.search(self.transcript, start)
                if match:
                    return match
                if self.process.poll() is not None and not any(r.is_alive() for r in self.readers):
                    raise GuestError(f"QEMU ended (status {self.process.returncode}) before the "
                                     f"guest printed {what or pattern.pattern!r}" + self.tail())
                left = deadline - time.monotonic()
                if left <= 0:
                    raise GuestError(f"the guest did not print {what or pattern.pattern!r} "
                                     f"within {timeout} s" + self.tail())
                self.changed.wait(min(left, 0.5))

    def wait_until_up(self, timeout=NET_UP_TIMEOUT):
        """The `net: up` line's match; raises GuestError if it does not come."""
        if self.net_up is None:
            if self.net_up_error is not None:  # one wait per boot, not one per test
                raise GuestError(str(self.net_up_error))
            try:
                self.net_up = self.wait_for(
                    NET_UP, timeout, what=f"net: up ... via {DRIVER_NAMES[self.nic]} "
                    f"(the {self.nic} driver and the network stack bring the interface up)")
            except GuestError as error:
                self.net_up_error = error
                raise
            self.seconds_to_net_up = time.monotonic() - self.started
        return self.net_up

    def command(self, text, timeout=30):
        """Types `text` at the shell and returns its output (the lines after the echoed
        command, up to the next prompt)."""
        self.wait_for(re.escape(PROMPT), timeout, what="the shell's prompt")
        with self.changed:
            start = len(self.transcript)
        self.process.stdin.write(text.encode() + b"\n")
        self.process.stdin.flush()
        echoed = self.wait_for(re.escape(text) + r"\n", timeout, start=start,
                               what=f"the echo of {text!r}")
        prompt = self.wait_for(re.escape(PROMPT), timeout, start=echoed.end(),
                               what=f"the prompt after {text!r}")
        with self.changed:
            return self.transcript[echoed.end():prompt.start()]

    def stop(self, timeout=60):
        """Ends the boot (shutdown, else SIGKILL to its process group) and returns
        qemu.sh's exit status."""
        if self.process.poll() is None:
            try:
                self.process.stdin.close()
            except OSError:
                pass
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        for reader in self.readers:
            reader.join(timeout=5)
        return self.process.returncode

    def _read(self, stream, name):
        while True:
            chunk = os.read(stream.fileno(), 65536)
            if not chunk:
                break
            text = chunk.decode("utf-8", "replace").replace("\r", "")
            with self.changed:
                setattr(self, name, getattr(self, name) + text)
                self.changed.notify_all()
        with self.changed:
            self.changed.notify_all()


def echo_payload(index, size):
    """Datagram `index` of an echo run: bytes that differ from its neighbours'."""
    seed = (index * 2654435761) & 0xFFFFFFFF
    return bytes((seed >> (8 * (offset % 4)) ^ offset * 31 ^ index) & 0xFF for offset in range(size))


def spread_sizes(count, smallest=1, largest=LARGEST_DATAGRAM):
    """`count` sizes from `smallest` to `largest`, both included, evenly spread."""
    return [smallest + (index * (largest - smallest)) // max(1, count - 1) for index in range(count)]


class EchoReport:
    def __init__(self):
        self.sent = 0
        self.answered = 0
        self.lost = []  # (index, size): no answer after every try
        self.corrupted = []  # (index, size, what came back)
        self.retries = 0
        self.gave_up = False

    def summary(self):
        lost = ", ".join(f"#{index} ({size} B)" for index, size in self.lost[:10])
        corrupted = ", ".join(f"#{index} ({size} B sent, {len(reply)} B back)"
                              for index, size, reply in self.corrupted[:10])
        return (f"{self.answered} of {self.sent} datagrams came back byte-identical "
                f"({self.retries} resent); lost: {len(self.lost)} {lost}; "
                f"changed: {len(self.corrupted)} {corrupted}"
                + ("; gave up: nothing answers" if self.gave_up else ""))


class EchoClient:
    """A UDP client of the guest's echo service, through slirp's forwarded port."""

    def __init__(self, port, host="127.0.0.1", timeout=1.0):
        self.address = (host, port)
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.settimeout(timeout)

    def __enter__(self):
        return self

    def __exit__(self, *exception):
        self.socket.close()

    def echo(self, payload, tries=3, earlier=()):
        """Sends `payload` until it comes back (up to `tries` times); returns (reply or
        None, tries used, replies that were neither it nor a late copy of `earlier`)."""
        strangers = []
        for attempt in range(1, tries + 1):
            self.socket.sendto(payload, self.address)
            while True:
                try:
                    reply = self.socket.recv(65536)
                except socket.timeout:
                    break
                if reply == payload:
                    return reply, attempt, strangers
                if reply not in earlier:
                    strangers.append(reply)
        return None, tries, strangers

    def check(self, sizes, tries=3, give_up_after=5):
        """Echoes one datagram of each size, one at a time; an EchoReport says how it went.
        After `give_up_after` losses in a row it stops: nothing is answering."""
        report = EchoReport()
        recent = []
        for index, size in enumerate(sizes):
            if len(report.lost) >= give_up_after and report.lost[-give_up_after][0] == index - give_up_after:
                report.gave_up = True
                break
            payload = echo_payload(index, size)
            report.sent += 1
            reply, used, strangers = self.echo(payload, tries, earlier=recent)
            report.retries += used - 1
            report.corrupted += [(index, size, stranger) for stranger in strangers]
            if reply is None:
                report.lost.append((index, size))
            else:
                report.answered += 1
            recent = (recent + [payload])[-8:]  # late answers to resent datagrams are not errors
        return report
