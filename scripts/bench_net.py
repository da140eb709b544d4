#!/usr/bin/env python3
"""UDP echo through QEMU user networking on each NIC: round trips and throughput.

    scripts/bench_net.py [--runs N] [--quick] [--output DIR] [--configs NAME,...]

Each run boots the guest with one NIC (plain TCG: these are wall-clock figures), waits
for its `net: up` line and its first echo, then a host client sends datagrams to the
forwarded port through slirp: ping-pong round trips of 64 and 1024 bytes (median, p99),
and echo throughput with 32 datagrams in flight. The e1000 runs with QEMU's interrupt
mitigation (on, the default) and without it. QEMU and the client run in a network
namespace with only loopback (tests/qemu/netguest.py). Figures are medians over the
runs, with the lowest and highest run beside them, and a Linux guest's figures on the
same QEMU (measured on this machine kind, not in this run) for comparison. The records
go into bench/results/latest.json and a section of latest.md, replacing earlier ones.
"""
import argparse
import json
import pathlib
import socket
import statistics
import sys
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "qemu"))
from netguest import Guest, GuestError, NamespaceError, enter_loopback_namespace  # noqa: E402

import profile_net  # noqa: E402

WINDOW = 32
SIZES = (64, 1024)
SECTION = "## Network: UDP echo through QEMU user networking"

# name: (scripts/qemu.sh --net, --net-options, what the table says about it)
CONFIGS = {
    "virtio": ("virtio", None, "virtio-net"),
    "e1000": ("e1000", None, "e1000, interrupt mitigation on (QEMU's default)"),
    "e1000_nomitigation": ("e1000", "mitigation=off", "e1000, mitigation=off"),
}
# A Linux 6.1 guest, same QEMU 7.2 under TCG, 1 vCPU, 256 MiB (NETWORK.md): medians of six boots.
LINUX = {
    "virtio": {"rtt_64.median": 371, "rtt_64.p99": 712, "throughput_64": 6855,
               "throughput_1024": 5767, "boot_to_echo": 8.1},
    "e1000": {"rtt_64.median": 473, "rtt_64.p99": 1303, "throughput_64": 6034,
              "throughput_1024": 5228, "boot_to_echo": 10.5},
}
GOALS = {"rtt_64.median": "< 180", "throughput_64": ">= 18,000"}  # issue 12
METRICS = {  # metric: (unit, what)
    "boot_to_echo": ("s", "QEMU start to the first datagram echoed"),
    "rtt_64.median": ("us", "ping-pong round trip, 64 B: median"),
    "rtt_64.p99": ("us", "ping-pong round trip, 64 B: p99"),
    "rtt_1024.median": ("us", "ping-pong round trip, 1024 B: median"),
    "rtt_1024.p99": ("us", "ping-pong round trip, 1024 B: p99"),
    "throughput_64": ("datagrams/s", f"echoed with {WINDOW} in flight, 64 B"),
    "throughput_1024": ("datagrams/s", f"echoed with {WINDOW} in flight, 1024 B"),
    "lost": ("datagrams", "lost in all of the above (no answer within 1 s)"),
    "floor_rtt_64.median": ("us", "floor (kernel polled echo, same boot): round trip, 64 B"),
    "floor_throughput_64": ("datagrams/s", f"floor (same boot): echoed with {WINDOW} in flight, 64 B"),
}


def payload(sequence, size):
    return sequence.to_bytes(8, "little").ljust(size, b"\xa5")


def first_echo(client, address, deadline):
    """Sends one datagram a second until it comes back; True if one did by `deadline`."""
    while time.monotonic() < deadline:
        client.sendto(b"first", address)
        try:
            if client.recv(2048) == b"first":
                return True
        except socket.timeout:
            pass
    return False


def round_trips(client, address, size, count):
    """Round-trip times in microseconds of `count` ping-pongs, and how many got no answer."""
    times, lost = [], 0
    for sequence in range(count):
        data = payload(sequence, size)
        start = time.perf_counter_ns()
        client.sendto(data, address)
        try:
            while client.recv(2048) != data:  # a late answer to a lost one
                pass
        except socket.timeout:
            lost += 1
            continue
        times.append((time.perf_counter_ns() - start) / 1000)
    return times, lost


def throughput(client, address, size, seconds):
    """Datagrams echoed per second with WINDOW in flight, and how many were lost."""
    sent = echoed = lost = 0
    in_flight = set()

    def send_one():
        nonlocal sent
        client.sendto(payload(sent, size), address)
        in_flight.add(sent)
        sent += 1

    start = time.perf_counter()
    end = start + seconds
    while len(in_flight) < WINDOW:
        send_one()
    while in_flight:
        try:
            reply = client.recv(2048)
        except socket.timeout:
            lost += len(in_flight)  # nothing for a second: count the window lost, refill
            in_flight.clear()
        else:
            sequence = int.from_bytes(reply[:8], "little")
            if sequence in in_flight and reply == payload(sequence, size):
                in_flight.discard(sequence)
                echoed += 1
        if time.perf_counter() < end:
            while len(in_flight) < WINDOW:
                send_one()
    return echoed / (time.perf_counter() - start), lost


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


ICOUNT_SINGLES = 32
ICOUNT_BATCHES = 4


def guest_instructions(config):
    """Guest instructions per echoed 64-byte datagram under -icount, one at a time and
    in batches of WINDOW: every instruction the guest runs while they are echoed, traced
    by QEMU and counted (scripts/profile_net.py), in one boot each."""
    net, options, _ = CONFIGS[config]
    figures = {}
    for name, count, batch in [("instructions_single", ICOUNT_SINGLES, False),
                               ("instructions_batch", ICOUNT_BATCHES * WINDOW, True)]:
        echoed, trace, _ = profile_net.trace_echo(net, count, batch, options)
        figures[name] = len(trace) / max(1, echoed)
    return figures


def floor_figures(guest, client, address, rtt_count, seconds):
    """The same echo, same boot, served by the kernel's polled loop on the same NIC
    (`netfloor`): what QEMU and slirp take by themselves."""
    since = len(guest.transcript)
    guest.process.stdin.write(b"netfloor 600\n")
    guest.process.stdin.flush()
    guest.wait_for(r"netfloor: echo on .* ready|netfloor: .*(cannot|refus|fail)", 60, start=since,
                   what="netfloor's ready line")
    times, _ = round_trips(client, address, 64, rtt_count)
    rate, _ = throughput(client, address, 64, seconds)
    guest.process.stdin.write(b"\n")  # ends netfloor; the device goes back to its driver
    guest.process.stdin.flush()
    guest.wait_for(r"netfloor: device ", 60, start=since, what="netfloor giving the device back")
    return {"floor_rtt_64.median": statistics.median(times) if times else None,
            "floor_throughput_64": rate}


def one_run(config, rtt_count, seconds):
    net, options, _ = CONFIGS[config]
    with Guest(net, net_options=options, timeout=900) as guest, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
        address = ("127.0.0.1", guest.netport)
        client.settimeout(1.0)
        guest.wait_until_up()
        if not first_echo(client, address, time.monotonic() + 30):
            raise GuestError("the guest said `net: up` but echoed nothing for 30 s" + guest.tail())
        figures = {"boot_to_echo": time.monotonic() - guest.started}
        lost = 0
        for size in SIZES:
            times, missing = round_trips(client, address, size, rtt_count)
            lost += missing
            if not times:
                raise GuestError(f"no {size}-byte round trip was answered" + guest.tail())
            figures[f"rtt_{size}.median"] = statistics.median(times)
            figures[f"rtt_{size}.p99"] = percentile(times, 0.99)
        for size in SIZES:
            rate, missing = throughput(client, address, size, seconds)
            lost += missing
            figures[f"throughput_{size}"] = rate
        figures["lost"] = lost
        figures.update(floor_figures(guest, client, address, rtt_count, seconds))
        return figures


def loopback_baseline(rtt_count, seconds):
    """The same client against an echo thread on host loopback: what the client and the
    host's sockets take by themselves, measured in this run."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
        server.bind(("127.0.0.1", 0))
        server.settimeout(0.2)
        running = True

        def serve():
            while running:
                try:
                    data, sender = server.recvfrom(2048)
                except socket.timeout:
                    continue
                server.sendto(data, sender)
        echo = threading.Thread(target=serve, daemon=True)
        echo.start()
        client.settimeout(1.0)
        address = server.getsockname()
        figures, lost = {"boot_to_echo": None}, 0
        for size in SIZES:
            times, missing = round_trips(client, address, size, rtt_count)
            lost += missing
            figures[f"rtt_{size}.median"] = statistics.median(times)
            figures[f"rtt_{size}.p99"] = percentile(times, 0.99)
        for size in SIZES:
            figures[f"throughput_{size}"], missing = throughput(client, address, size, seconds)
            lost += missing
        figures["lost"] = lost
        figures["floor_rtt_64.median"] = figures["floor_throughput_64"] = None
        running = False
        echo.join()
        return figures


def records(results, baseline, instructions):
    out = []
    for config, per_run in results.items():
        linux = LINUX.get(CONFIGS[config][0], {})
        for metric, (unit, what) in METRICS.items():
            values = [figures[metric] for figures in per_run]
            out.append({
                "name": f"net.{config}.{metric}", "description": f"{CONFIGS[config][2]}: {what}",
                "unit": unit, "mode": "wall clock, TCG", "runs": values,
                "median": statistics.median(values), "min": min(values), "max": max(values),
                "linux": linux.get(metric), "goal": GOALS.get(metric),
                "host_loopback": baseline.get(metric),
            })
        counted = instructions.get(config, {})
        for metric, goal, what in (("single", "<= 2,500", "one at a time"),
                                   ("batch", "< 1,200", f"in batches of {WINDOW}")):
            out.append({
                "name": f"net.{config}.instructions_{metric}", "unit": "instructions",
                "description": f"{CONFIGS[config][2]}: guest instructions per echoed 64 B datagram, {what}",
                "mode": "icount", "median": counted.get(f"instructions_{metric}"), "goal": goal,
            })
    return out


def number(value, unit):
    if value is None:
        return "-"
    if unit == "s":
        return f"{value:.2f}"
    return f"{value:,.0f}"


def markdown(net_records, configs, runs, rtt_count, seconds):
    by_name = {r["name"]: r for r in net_records}
    linux_columns = [nic for nic in LINUX if any(CONFIGS[c][0] == nic for c in configs)]
    out = [SECTION, "",
           f"{runs} boots per NIC; in each, {rtt_count} ping-pongs of each size and {seconds} s of "
           f"echo per size with {WINDOW} datagrams in flight, from a host client through slirp's "
           "forwarded port. Wall clock under QEMU TCG: each figure is the median of the boots, with "
           "the lowest and highest boot in brackets. The Linux guest's figures (NETWORK.md; its e1000 "
           "with QEMU's default mitigation) were measured on this machine kind with the same QEMU, "
           "not in this run: compare ratios, not microseconds. Host loopback is the same client "
           "against an echo thread on the host, in this run: what the client takes by itself.", "",
           "| measure | " + " | ".join(CONFIGS[c][2] for c in configs) + " | "
           + " | ".join(f"Linux guest, {nic}" for nic in linux_columns) + " | host loopback | goal |",
           "|---|" + "---:|" * (len(configs) + len(linux_columns) + 2)]
    for metric, (unit, what) in [
            *METRICS.items(),
            ("instructions_single", ("instructions", "guest instructions per echoed 64 B datagram, one at a time, icount")),
            ("instructions_batch", ("instructions", f"guest instructions per echoed 64 B datagram, {WINDOW} in flight, icount"))]:
        cells = []
        for config in configs:
            r = by_name[f"net.{config}.{metric}"]
            if r["median"] is None:
                cells.append("not measured yet")
            elif len(r.get("runs", [])) > 1:
                cells.append(f"{number(r['median'], unit)} ({number(r['min'], unit)}-{number(r['max'], unit)})")
            else:
                cells.append(number(r["median"], unit))
        cells += [number(LINUX[nic].get(metric), unit) for nic in linux_columns]
        first = by_name[f"net.{configs[0]}.{metric}"]
        cells += [number(first.get("host_loopback"), unit), GOALS.get(metric) or first.get("goal") or ""]
        out.append(f"| {what} ({unit}) | " + " | ".join(cells) + " |")
    out += ["", f"Guest instructions per echoed datagram: under -icount, QEMU traces every "
            f"instruction the guest runs while {ICOUNT_SINGLES} datagrams are echoed one at a time, "
            f"and in another boot {ICOUNT_BATCHES} bursts of {WINDOW} (scripts/profile_net.py, which "
            "also says where they go); timer ticks and everything else the guest ran meanwhile "
            "are counted in. The floor rows are the kernel's polled echo "
            "(`netfloor`) on the same NIC in the same boot as the row above them: what QEMU and "
            "slirp take without our drivers, stack and domains."]
    return "\n".join(out) + "\n"


def save(output, net_records, section):
    output.mkdir(parents=True, exist_ok=True)
    json_path, md_path = output / "latest.json", output / "latest.md"
    kept = json.loads(json_path.read_text()) if json_path.exists() else []
    kept = [r for r in kept if not r["name"].startswith("net.")]
    json_path.write_text(json.dumps(kept + net_records, indent=2) + "\n")
    text = md_path.read_text() if md_path.exists() else ""
    if SECTION in text:
        text = text[:text.index(SECTION)]
    md_path.write_text((text.rstrip("\n") + "\n\n" if text.strip() else "") + section)


def has_network_stack():
    manifest = json.loads((ROOT / "domains" / "manifest.json").read_text())
    return any(domain["name"] == "net" for domain in manifest["domains"])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3, help="boots per NIC")
    parser.add_argument("--quick", action="store_true", help="one short boot per NIC (for tests)")
    parser.add_argument("--configs", default=",".join(CONFIGS), help="which of " + ", ".join(CONFIGS))
    parser.add_argument("--output", default=str(ROOT / "bench" / "results"))
    options = parser.parse_args()
    configs = options.configs.split(",")
    unknown = [config for config in configs if config not in CONFIGS]
    if unknown:
        sys.exit(f"bench-net: unknown configuration {unknown}; known: {', '.join(CONFIGS)}")
    runs, rtt_count, seconds = (1, 100, 1) if options.quick else (options.runs, 1000, 5)
    if not has_network_stack():
        print("bench-net: skipped: no network stack domain ('net') in domains/manifest.json yet")
        return
    try:
        enter_loopback_namespace()
    except NamespaceError as error:
        sys.exit(f"bench-net: {error}")
    results = {}
    for config in configs:
        results[config] = []
        for run in range(runs):
            print(f"bench-net: {config}, run {run + 1} of {runs}", flush=True)
            try:
                results[config].append(one_run(config, rtt_count, seconds))
            except GuestError as error:
                sys.exit(f"bench-net: {config}: {error}")
    baseline = loopback_baseline(rtt_count, seconds)
    instructions = {}
    if not options.quick:
        for config in configs:
            print(f"bench-net: {config}, instructions under -icount", flush=True)
            try:
                instructions[config] = guest_instructions(config)
            except GuestError as error:
                sys.exit(f"bench-net: {config} under -icount: {error}")
    net_records = records(results, baseline, instructions)
    section = markdown(net_records, configs, runs, rtt_count, seconds)
    save(pathlib.Path(options.output), net_records, section)
    print(section)
    print(f"bench-net: wrote {options.output}/latest.json and latest.md")


if __name__ == "__main__":
    main()
