#!/usr/bin/env python3
"""Runs the libFuzzer targets `make fuzz` built, one after the other, and says how each did.

Each target starts from a working corpus in BUILD/corpus/<target>, which keeps what earlier
runs found and takes in the target's seeds (tests/fuzz/corpus/<target>) and kept failures
(tests/fuzz/regressions/<target>). An input that makes the target fail (a trap, a
sanitizer report, a leak, a timeout) is written to tests/fuzz/regressions/<target>, where
`make unit` replays it from then on. The table at the end, also written as
BUILD/summary.json, gives each target's executions, time, rate and result.

    scripts/fuzz.py --build build/fuzz [--seconds 60] [--runs N] TARGET...
"""
import argparse
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import time

TESTS = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fuzz"
# The longest input each target takes. Data targets: room for their seeds and some.
# Operation sequences: a few hundred steps, which reach any state a longer one does in
# far fewer executions (each input sets a device up afresh).
MAX_LENGTH = {
    "frames": 1600, "elf": 16384, "multiboot": 4096, "pci": 2560, "virtqueue": 1024,
    "virtio-pci": 257,
    "virtio-blk": 512, "virtio-net": 512, "e1000": 512, "shared-heap": 1024,
}
# How long one input may take before libFuzzer calls it a hang.
TIMEOUT_SECONDS = 2


def prepare_corpus(build, target):
    corpus = build / "corpus" / target
    corpus.mkdir(parents=True, exist_ok=True)
    for folder in ("corpus", "regressions"):
        source = TESTS / folder / target
        for path in sorted(source.glob("*")) if source.is_dir() else []:
            kept = corpus / f"{folder}-{path.name}"
            if path.is_file() and not kept.exists():
                shutil.copyfile(path, kept)
    return corpus


def run(build, target, seconds, runs):
    binary = build / "bin" / target
    corpus = prepare_corpus(build, target)
    regressions = TESTS / "regressions" / target
    regressions.mkdir(parents=True, exist_ok=True)
    before = set(regressions.iterdir())
    options = [f"-runs={runs}"] if runs else [f"-max_total_time={seconds}"]
    command = [
        str(binary), str(corpus), *options,
        f"-max_len={MAX_LENGTH[target]}",
        f"-timeout={TIMEOUT_SECONDS}", "-print_final_stats=1",
        f"-artifact_prefix={regressions}/",
    ]
    log_path = build / "logs" / f"{target}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    print(f"fuzz {target}: {' '.join(command)}", flush=True)
    # A hosted Swift trap prints a backtrace and exits 132 unless told not to, and then
    # libFuzzer saves no input.
    environment = dict(os.environ, SWIFT_BACKTRACE="enable=no")
    start = time.monotonic()
    with open(log_path, "w") as log:
        status = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, env=environment).returncode
    elapsed = time.monotonic() - start
    text = log_path.read_text(errors="replace")
    executions = last_number(r"stat::number_of_executed_units:\s*(\d+)", text)
    if executions is None:
        executions = last_number(r"#(\d+)\s", text) or 0
    found = sorted(str(path) for path in set(regressions.iterdir()) - before)
    result = "ok" if status == 0 else verdict(text)
    if status != 0:
        print("\n".join(text.splitlines()[-40:]))
    return {
        "target": target, "executions": executions, "seconds": round(elapsed, 1),
        "executions_per_second": round(executions / elapsed) if elapsed > 0 else 0,
        "corpus": len(list(corpus.iterdir())), "result": result, "new_failures": found,
        "log": str(log_path),
    }


def last_number(pattern, text):
    matches = re.findall(pattern, text)
    return int(matches[-1]) if matches else None


def verdict(text):
    for marker, name in [
        ("ERROR: libFuzzer: timeout", "hang"),
        ("ERROR: LeakSanitizer", "leak"),
        ("ERROR: AddressSanitizer", "sanitizer report"),
        ("ERROR: libFuzzer: out-of-memory", "out of memory"),
        ("ERROR: libFuzzer: deadly signal", "crash (trap)"),
    ]:
        if marker in text:
            return name
    return "failed"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", type=pathlib.Path, required=True)
    parser.add_argument("--seconds", type=int, default=60, help="per target")
    parser.add_argument("--runs", type=int, help="executions per target, instead of a time")
    parser.add_argument("targets", nargs="+")
    arguments = parser.parse_args()
    results = [run(arguments.build, target, arguments.seconds, arguments.runs)
               for target in arguments.targets]
    (arguments.build / "summary.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"\n{'target':<12} {'executions':>12} {'seconds':>8} {'per second':>10} {'corpus':>7}  result")
    for result in results:
        print(f"{result['target']:<12} {result['executions']:>12,} {result['seconds']:>8} "
              f"{result['executions_per_second']:>10,} {result['corpus']:>7}  {result['result']}")
        for path in result["new_failures"]:
            print(f"{'':<12} failing input kept: {path}")
    sys.exit(0 if all(result["result"] == "ok" for result in results) else 1)


if __name__ == "__main__":
    main()
