#!/usr/bin/env python3
"""Runs the benchmark boot and writes bench/results/latest.{json,md,png}.

    scripts/bench.py [--mode icount|tsc] [--runs N] [--quick] [--output DIR]

icount (the default) boots QEMU with -icount shift=0, where a TSC tick is one guest
instruction: the figures are exact and repeat. tsc boots plain TCG (or KVM with
ACCEL=kvm): wall-clock ticks, noisy, reported for completeness. The kernel prints
BENCH and BENCHCHECK lines (kernel/bench/Benchmark.swift); a failed check means a
benchmark did not do its work, and no results are written.

Each block metric has two floors from the same boot (`block.floor_*` polled and
`block.floor_halted_*`, kernel/bench/BlockFloor.swift): the same disk read by the
simplest kernel loop. The report gives each metric beside its floors and the ratios
ours/floor, which, unlike an absolute IOPS figure, carry over between runs and machines. --runs N (or RUNS=N in the
environment, so `make bench MODE=tsc RUNS=5`) boots N times and gives each ratio's
median and spread over the runs; the main table is the last run's.
"""
import os
import argparse
import json
import pathlib
import re
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
BENCH = re.compile(r"^BENCH name=(\S+) iterations=(\d+) min=([\d.]+) median=([\d.]+) p99=([\d.]+) baseline=(\S+)")
CHECK = re.compile(r"^BENCHCHECK name=(\S+) expected=(-?\d+) actual=(-?\d+)")
IMAGE = re.compile(r"^BENCHIMAGE name=(\S+) file=(\d+) loaded=(\d+)")
# The demo domains' images should load in this much or less (issue 13).
DEMO_DOMAINS = ("hello", "counter", "crasher", "client")
DEMO_IMAGE_LIMIT = 64 * 1024

# What each metric measures, for the table (docs/BENCHMARKS.md has the details).
DESCRIPTIONS = {
    "loop.empty": "empty loop iteration (the cost of measuring)",
    "call.direct": "direct call to an empty function",
    "call.indirect": "indirect call through a function value",
    "call.protocol": "protocol (existential) call inside one domain",
    "domain.null_call": "null cross-domain call through a generated proxy",
    "domain.call_moving_rref": "cross-domain call moving one RRef in and back out (two moves)",
    "domain.call_borrowing_rref": "cross-domain call borrowing one RRef",
    "rref.allocate_free": "RRef allocate + free (shared heap)",
    "rref.deque_push_pop": "RRefDeque push + pop",
    "thread.yield": "thread yield to another ready thread (one yield: one switch)",
    "thread.ping_pong_round_trip": "two threads, semaphore ping-pong round trip",
    "interrupt.self_ipi_round_trip": "self-IPI: interrupt entry, handler, return",
    "domain.crash_to_error": "domain crash to the error returned at the caller",
    "domain.restart": "domain restart (stop, restore the pristine image, init)",
    "domain.load_image": "domain image load (validate, copy, relocate, protect)",
    "block.read_sequential": "4 KiB sequential read via the virtio-blk domain, one per call: elapsed",
    "block.read_sequential.busy": "4 KiB sequential read, one per call: CPU work, halted waits excluded",
    "block.read_random": "4 KiB random read via the virtio-blk domain, one per call: elapsed",
    "block.read_random.busy": "4 KiB random read, one per call: CPU work, halted waits excluded",
    "block.read_sequential_batch32": "4 KiB sequential reads, batches of 32: elapsed per request",
    "block.read_sequential_batch32.busy": "4 KiB sequential reads, batches of 32: CPU work per request",
    "block.read_random_batch32": "4 KiB random reads, batches of 32: elapsed per request",
    "block.read_random_batch32.busy": "4 KiB random reads, batches of 32: CPU work per request",
}
# Each block metric's floors: the same reads by the kernel's simplest loop, in the same
# boot, waiting by polling the used ring or by halting until the disk's interrupt.
for _prefix, _how in (("block.floor_", "polled floor: "), ("block.floor_halted_", "halted floor: ")):
    DESCRIPTIONS.update({
        _prefix + name[len("block."):]: _how + what
        .replace(" via the virtio-blk domain", "")
        .replace("CPU work, halted waits excluded", "work, waits excluded")
        .replace("CPU work per request", "work per request")
        for name, what in list(DESCRIPTIONS.items()) if name.startswith("block.read_")})
BLOCK_BYTES = 4096
CLOCK = re.compile(r"^\[info\] clock: TSC (\d+) MHz")

TARGETS = {  # issue targets, icount medians
    "domain.null_call": 40, "thread.yield": 150, "thread.ping_pong_round_trip": 600,
    "domain.crash_to_error": 5000,
}


def run_boot(mode, quick):
    # The block benchmarks read a fresh pattern disk (scripts/diskimage.py).
    with tempfile.TemporaryDirectory() as scratch:
        disk = pathlib.Path(scratch) / "disk.img"
        subprocess.run([sys.executable, str(ROOT / "scripts" / "diskimage.py"), "make", str(disk)],
                       check=True)
        args = [str(ROOT / "scripts" / "qemu.sh"), "--timeout", "900", "--disk", str(disk),
                "--cmdline", "bench=quick" if quick else "bench"]
        if mode == "icount":
            args.insert(1, "--icount")
        result = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    lines = [line.rstrip("\r") for line in result.stdout.splitlines()]
    if result.returncode != 0 or "BENCH end" not in lines:
        sys.exit("bench: the benchmark boot failed (status %d):\n%s\n%s" % (
            result.returncode, "\n".join(lines[-30:]), result.stderr))
    return lines


def parse(lines, mode):
    records, failed = [], []
    unit = "instructions" if mode == "icount" else "ticks"
    tsc_mhz = next((int(m[1]) for line in lines if (m := CLOCK.match(line))), None)
    for line in lines:
        if match := BENCH.match(line):
            name = match[1]
            waits = name.startswith("block.") and not name.endswith(".busy")
            if waits and mode == "icount":
                continue  # under -icount, a halt warps the clock: only .busy is meaningful
            record = {
                "name": name, "description": DESCRIPTIONS.get(name, name), "unit": unit,
                "iterations": int(match[2]), "min": float(match[3]),
                "median": float(match[4]), "p99": float(match[5]), "mode": mode,
                "baseline": match[6],
            }
            if waits and tsc_mhz:
                # Wall clock: requests per second and throughput from the median.
                seconds = record["median"] / (tsc_mhz * 1e6)
                record["iops"] = round(1 / seconds)
                record["mb_per_s"] = round(BLOCK_BYTES / seconds / 1e6, 1)
            records.append(record)
        elif match := CHECK.match(line):
            if match[2] != match[3]:
                failed.append(f"{match[1]}: expected {match[2]}, got {match[3]}")

    if failed:
        sys.exit("bench: benchmarks did not do their work:\n  " + "\n  ".join(failed))
    return records


def image_sizes(lines):
    """Each domain image's file and loaded bytes, as the benchmark boot saw them."""
    return [{"name": f"image.{m[1]}", "description": f"the {m[1]} domain's image: file and loaded bytes",
             "unit": "bytes", "file": int(m[2]), "loaded": int(m[3])}
            for line in lines if (m := IMAGE.match(line))]


def image_table(images):
    out = ["", "Domain images (`BENCHIMAGE`): the boot module's file, and what it takes loaded "
           "(whole pages; its pristine copy for restarts takes as much again). "
           f"Goal for the demo domains ({', '.join(DEMO_DOMAINS)}): {DEMO_IMAGE_LIMIT // 1024} KiB loaded.", "",
           "| domain | file (bytes) | loaded (KiB) |", "|---|---:|---:|"]
    out += [f"| {r['name'][len('image.'):]} | {r['file']:,} | {r['loaded'] // 1024} |" for r in images]
    return out


FLOORS = (("polled", "block.floor_"), ("halted", "block.floor_halted_"))


def floor_of(name, prefix):
    """The floor metric (by its prefix) of a domain block metric, or None."""
    return prefix + name[len("block."):] if name.startswith("block.read_") else None


def floor_ratios(records, prefix):
    """{metric: ours/floor} for every block metric whose floor ran."""
    by_name = {r["name"]: r for r in records}
    return {r["name"]: r["median"] / by_name[f]["median"] for r in records
            if (f := floor_of(r["name"], prefix)) in by_name and by_name[f]["median"] > 0}


def floor_table(records, mode, runs):
    """The block metrics beside their two floors: each ratio ours/floor, its spread over
    the runs (with more than one), and in tsc mode the IOPS."""
    by_name = {r["name"]: r for r in records}
    rows = [r for r in records if floor_of(r["name"], "block.floor_") in by_name]
    if not rows:
        return []
    unit = "instructions" if mode == "icount" else "ticks"
    head = [f"ours ({unit}/request)"]
    for kind, _ in FLOORS:
        head += [f"{kind} floor", f"ours/{kind}"]
        if len(runs) > 1:
            head.append(f"ours/{kind} in {len(runs)} runs: median (min-max)")
    if mode == "tsc":
        head += ["ours IOPS"] + [f"{kind} IOPS" for kind, _ in FLOORS]
    out = ["", "Block I/O beside its floors: the same disk read in the same boot by the simplest "
           "kernel loop (no domains, no scheduler), waiting by polling the used ring or by halting "
           "until the disk's interrupt. A floor is what QEMU itself takes; ours/floor is what our "
           "path costs on top of it.", "",
           "| metric | " + " | ".join(head) + " |", "|---|" + "---:|" * len(head)]
    for ours in rows:
        cells = [f"{ours['median']:.1f}"]
        iops = [ours]
        for _, prefix in FLOORS:
            floor = by_name.get(floor_of(ours["name"], prefix))
            iops.append(floor or {})
            cells += [f"{floor['median']:.1f}", f"{ours['median'] / floor['median']:.2f}"] \
                if floor else ["", ""]
            if len(runs) > 1:
                spread = sorted(ratios[ours["name"]] for run in runs
                                if ours["name"] in (ratios := floor_ratios(run, prefix)))
                cells.append(f"{spread[len(spread) // 2]:.2f} ({spread[0]:.2f}-{spread[-1]:.2f})"
                             if spread else "")
        if mode == "tsc":
            cells += [f"{r['iops']:,}" if "iops" in r else "" for r in iops]
        out.append(f"| `{ours['name']}` | " + " | ".join(cells) + " |")
    return out


def markdown(records, images, anchors, mode, runs=None):
    by_name = {r["name"]: r for r in records}
    unit = records[0]["unit"] if records else ""
    out = [f"Mode: **{mode}** ({'QEMU TCG, -icount shift=0: one tick = one guest instruction' if mode == 'icount' else 'wall-clock TSC ticks, noisy'}).", "",
           f"| metric | what | median | min | p99 | baseline (median) | target |",
           "|---|---|---:|---:|---:|---|---:|"]
    for r in records:
        base = by_name.get(r["baseline"])
        base_text = f"{r['baseline']} ({base['median']:.1f})" if base and base is not r else "-"
        target = TARGETS.get(r["name"])
        out.append(f"| `{r['name']}` | {r['description']} | {r['median']:.1f} | {r['min']:.1f} | "
                   f"{r['p99']:.1f} | {base_text} | {target if target and mode == 'icount' else ''} |")
    block = [r for r in records if "iops" in r]
    if block:
        out += ["", "Block I/O, wall clock under QEMU TCG (the median request):", "",
                "| metric | ticks per request | IOPS | MB/s |", "|---|---:|---:|---:|"]
        out += [f"| `{r['name']}` | {r['median']:.0f} | {r['iops']:,} | {r['mb_per_s']} |"
                for r in block]
    out += floor_table(records, mode, runs or [records])
    out += image_table(images)
    out += ["", f"Figures in {unit} per operation. Published figures (real hardware, cycles):", "",
            "| system | operation | cycles | compare with | hardware | source |", "|---|---|---:|---|---|---|"]
    for a in anchors:
        cycles = f"{a['cycles']}" + (f" / {a['cycles_high']}" if "cycles_high" in a else "")
        mine = by_name.get(a["compare"])
        compare = f"`{a['compare']}` ({mine['median']:.1f})" if mine else a["compare"]
        out.append(f"| {a['system']} | {a['operation']} | {cycles} | {compare} | {a['hardware']} | {a['source']} |")
    return "\n".join(out) + "\n"


def chart(records, anchors, mode, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        sys.exit("bench: matplotlib is missing (make bench installs it)")
    by_name = {r["name"]: r for r in records}
    groups = ["domain.null_call", "domain.call_moving_rref", "thread.yield",
              "thread.ping_pong_round_trip"]
    labels, values, colors = [], [], []
    for name in groups:
        if name in by_name:
            labels.append(f"Swiftlet: {name} ({mode})")
            values.append(by_name[name]["median"])
            colors.append("#2b6cb0")
        for a in anchors:
            if a["compare"] == name:
                labels.append(f"{a['system']}: {a['operation'][:64]} (cycles)")
                values.append(a["cycles"])
                colors.append("#a0aec0")
    fig, ax = plt.subplots(figsize=(11, 0.42 * len(labels) + 1.5))
    ax.barh(range(len(labels)), values, color=colors)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    for i, v in enumerate(values):
        ax.text(v * 1.05, i, f"{v:,.0f}", va="center", fontsize=8)
    unit = "instructions (QEMU icount)" if mode == "icount" else "TSC ticks (QEMU)"
    ax.set_xlabel(f"per operation, log scale:\nSwiftlet in {unit}; others in cycles on real hardware")
    ax.set_title("Swiftlet's cost of isolation beside published figures")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=["icount", "tsc"], default="icount")
    parser.add_argument("--runs", type=int, default=int(os.environ.get("RUNS") or 1),
                        help="boots to run, for the spread of the ratios to the floors")
    parser.add_argument("--quick", action="store_true", help="few iterations (for tests)")
    parser.add_argument("--output", default=str(ROOT / "bench" / "results"))
    options = parser.parse_args()
    boots = [run_boot(options.mode, options.quick) for _ in range(max(1, options.runs))]
    runs = [parse(lines, options.mode) for lines in boots]
    records = runs[-1]
    images = image_sizes(boots[-1])
    if len(runs) > 1:
        for record in records:
            record["run_medians"] = [next((r["median"] for r in run if r["name"] == record["name"]),
                                          None) for run in runs]
    for kind, prefix in FLOORS:
        for name, ratio in floor_ratios(records, prefix).items():
            next(r for r in records if r["name"] == name)[f"ours_over_{kind}_floor"] = round(ratio, 3)
    anchors = json.loads((ROOT / "bench" / "anchors.json").read_text())["anchors"]
    output = pathlib.Path(options.output)
    output.mkdir(parents=True, exist_ok=True)
    (output / "latest.json").write_text(json.dumps(records + images, indent=2) + "\n")
    (output / "latest.md").write_text(markdown(records, images, anchors, options.mode, runs))
    chart(records, anchors, options.mode, output / "latest.png")
    print((output / "latest.md").read_text())
    print(f"bench: wrote {output}/latest.json, latest.md and latest.png")


if __name__ == "__main__":
    main()
