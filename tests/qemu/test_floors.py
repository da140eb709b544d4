"""The floors: the same devices driven by the simplest kernel loops, in the same boot as
the domains' figures (docs/BENCHMARKS.md).

The block floor runs in the benchmark boot: its checks must pass in bench=quick (the
floor read the test pattern, and the virtio_blk domain drives the disk again after it).
The NIC echo floor is the shell's `netfloor`: on each NIC, a host client's UDP datagrams
through slirp's port forward must come back byte for byte. QEMU and the client run in a
network namespace of their own with only loopback up (shared NETWORK.md says why): this
file re-runs itself there, as `python3 test_floors.py NIC`, and prints what it saw as JSON.
"""
import json
import os
import pathlib
import queue
import re
import shutil
import socket
import subprocess
import sys
import threading
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("BUILD", ROOT / "build"))
CHECK = re.compile(r"^BENCHCHECK name=(\S+) expected=(-?\d+) actual=(-?\d+)$")
BENCH = re.compile(r"^BENCH name=(block\.floor_\S+) iterations=")
STOPPED = re.compile(r"^netfloor: stopped after [\d.]+ s: echoed=(\d+) arp=(\d+) dropped=(\d+) "
                     r"work_ticks_per_frame=(\d+)$")
NICS = {"e1000": "e1000", "virtio": "virtio-net-pci,disable-legacy=on"}
PORT = 5555
PAYLOAD_SIZES = [1, 18, 64, 512, 1024, 1472, 64, 7]


def test_block_floor_reads_the_pattern_and_gives_the_disk_back(tmp_path):
    from conftest import SUCCESS, boot
    disk = tmp_path / "disk.img"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "diskimage.py"), "make", str(disk),
                    "--mib", "4"], check=True)
    run = boot("bench=quick", disk=disk)
    assert run.status == SUCCESS and "BENCH end" in run.lines, run.problem() + run.tail()
    checks = {m[1]: (m[2], m[3]) for line in run.lines if (m := CHECK.match(line))}
    for name in ["block.floor_blocks", "block.floor_reads_verified", "block.floor_pattern",
                 "block.floor_interrupts", "block.floor_given_back"]:
        assert name in checks, f"no {name} check" + run.tail()
        expected, actual = checks[name]
        assert expected == actual, f"{name}: expected {expected}, got {actual}" + run.tail()
    # Three rounds, each reading 64 blocks whole against the pattern.
    assert checks["block.floor_pattern"][0] == "192", checks["block.floor_pattern"]
    assert checks["block.floor_given_back"][0] == "3", checks["block.floor_given_back"]
    floors = {m[1] for line in run.lines if (m := BENCH.match(line))}
    assert len(floors) == 16, f"floor metrics: {sorted(floors)}" + run.tail()


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare"),
                    reason="needs root and unshare for a network namespace of its own")
@pytest.mark.parametrize("nic", sorted(NICS))
def test_netfloor_echoes_datagrams(nic):
    result = subprocess.run(
        ["unshare", "--net", "sh", "-c",
         f"ip link set lo up && exec {sys.executable} {__file__} {nic}"],
        capture_output=True, text=True, timeout=90)
    assert result.returncode == 0, f"namespace run failed: {result.stderr}\n{result.stdout[-3000:]}"
    report = json.loads(result.stdout.strip().splitlines()[-1])
    serial = "\n".join(report["serial"][-40:])
    assert report["ready"], f"netfloor never said ready\n{serial}"
    assert report["echoed"] == report["sent"], (
        f"{report['echoed']} of {report['sent']} datagrams came back intact\n{serial}")
    stopped = next((m for line in report["serial"] if (m := STOPPED.match(line))), None)
    assert stopped, f"no closing counts line\n{serial}"
    # Every datagram (and its retries) was echoed by the floor, and slirp's ARP answered.
    assert int(stopped[1]) >= report["sent"] and int(stopped[2]) >= 1, serial
    assert any(line.startswith("netfloor: device ") for line in report["serial"]), serial
    assert report["status"] == 33, f"QEMU ended with {report['status']}\n{serial}"


def boot_with_nic(nic):
    """QEMU with the NIC on slirp, host UDP 127.0.0.1:PORT forwarded to the guest's port 7."""
    modules = ",".join(str(p) for p in sorted((BUILD / "domains").glob("*.so")))
    args = ["qemu-system-x86_64", "-m", "256M", "-display", "none", "-no-reboot",
            "-accel", "tcg", "-cpu", "max", "-kernel", str(BUILD / "swiftlet32.elf"),
            "-append", "", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
            "-serial", "stdio", "-monitor", "none",
            "-netdev", f"user,id=u0,hostfwd=udp:127.0.0.1:{PORT}-10.0.2.15:7",
            "-device", f"{NICS[nic]},netdev=u0"]
    if modules:
        args += ["-initrd", modules]
    if os.path.exists("/usr/share/qemu/qboot.rom"):
        args += ["-bios", "/usr/share/qemu/qboot.rom"]
    return subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, bufsize=1)


def echo_in_namespace(nic):
    """Boots, starts `netfloor 40`, sends datagrams, stops it; prints a JSON report."""
    qemu = boot_with_nic(nic)
    lines = queue.Queue()
    serial = []
    threading.Thread(target=lambda: [lines.put(l.rstrip("\r\n")) for l in qemu.stdout],
                     daemon=True).start()

    def wait_for(pattern, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=0.2)
            except queue.Empty:
                continue
            serial.append(line)
            if re.search(pattern, line):
                return line
        return None

    report = {"ready": False, "sent": 0, "echoed": 0, "status": None}
    try:
        if wait_for(r"Type 'help' for commands", 30):
            qemu.stdin.write("netfloor 40\n")
            qemu.stdin.flush()
            report["ready"] = wait_for(r"^netfloor: echo on .* ready$", 20) is not None
        if report["ready"]:
            client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            client.settimeout(1.0)
            for index, size in enumerate(PAYLOAD_SIZES):
                payload = bytes((index * 31 + i) % 256 for i in range(size))
                report["sent"] += 1
                for _ in range(5):  # slirp may drop one while it resolves the guest
                    client.sendto(payload, ("127.0.0.1", PORT))
                    try:
                        back, _ = client.recvfrom(2048)
                    except socket.timeout:
                        continue
                    report["echoed"] += back == payload
                    break
            qemu.stdin.write("\n")
            qemu.stdin.flush()
            wait_for(r"^netfloor: device ", 15)
        qemu.stdin.write("shutdown\n")
        qemu.stdin.flush()
        report["status"] = qemu.wait(timeout=15)
    except (subprocess.TimeoutExpired, OSError) as error:
        serial.append(f"(test: {error})")
    finally:
        if qemu.poll() is None:
            qemu.kill()
    while not lines.empty():
        serial.append(lines.get())
    report["serial"] = serial
    print(json.dumps(report))


if __name__ == "__main__":
    echo_in_namespace(sys.argv[1])
