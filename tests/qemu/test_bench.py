"""The benchmark boot: every benchmark runs and proves it did its work. No timing is
asserted here; `make bench` reports the figures."""
import json
import re
import subprocess
import sys

import pytest

from conftest import ROOT, SUCCESS, boot

CHECK = re.compile(r"^BENCHCHECK name=(\S+) expected=(-?\d+) actual=(-?\d+)$")
BENCH = re.compile(r"^BENCH name=(\S+) iterations=(\d+) min=")
IMAGE = re.compile(r"^BENCHIMAGE name=(\S+) file=(\d+) loaded=(\d+)$")

EXPECTED = {
    "loop.empty", "call.direct", "call.indirect", "call.protocol", "domain.null_call",
    "domain.call_moving_rref", "domain.call_borrowing_rref", "rref.allocate_free",
    "rref.deque_push_pop", "thread.yield", "thread.ping_pong_round_trip",
    "interrupt.self_ipi_round_trip", "domain.crash_to_error", "domain.restart",
    "domain.load_image",
    "block.read_sequential", "block.read_sequential.busy", "block.read_random",
    "block.read_random.busy", "block.read_sequential_batch32", "block.read_sequential_batch32.busy",
    "block.read_random_batch32", "block.read_random_batch32.busy",
    # The same reads by the kernel's simplest loops, polled and halted (tests/qemu/test_floors.py checks them).
    "block.floor_read_sequential", "block.floor_read_sequential.busy", "block.floor_read_random",
    "block.floor_read_random.busy", "block.floor_read_sequential_batch32",
    "block.floor_read_sequential_batch32.busy", "block.floor_read_random_batch32",
    "block.floor_read_random_batch32.busy",
    "block.floor_halted_read_sequential", "block.floor_halted_read_sequential.busy",
    "block.floor_halted_read_random", "block.floor_halted_read_random.busy",
    "block.floor_halted_read_sequential_batch32", "block.floor_halted_read_sequential_batch32.busy",
    "block.floor_halted_read_random_batch32", "block.floor_halted_read_random_batch32.busy",
}


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """bench=quick with a pattern disk attached, as scripts/bench.py boots it."""
    disk = tmp_path_factory.mktemp("bench") / "disk.img"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "diskimage.py"), "make", str(disk),
                    "--mib", "4"], check=True)
    return boot("bench=quick", disk=disk)


def test_every_benchmark_runs_and_does_its_work(quick_run):
    run = quick_run
    assert run.status == SUCCESS and "BENCH end" in run.lines, run.problem() + run.tail()
    metrics = {m[1] for line in run.lines if (m := BENCH.match(line))}
    assert metrics == EXPECTED, f"missing {EXPECTED - metrics}, extra {metrics - EXPECTED}"
    checks = [m for line in run.lines if (m := CHECK.match(line))]
    assert len(checks) >= 12, run.tail()
    failed = [f"{m[1]}: expected {m[2]}, got {m[3]}" for m in checks if m[2] != m[3]]
    assert not failed, "\n".join(failed) + run.tail()


def test_the_cross_domain_benchmark_crossed_domains(quick_run):
    run = quick_run
    check = next(m for line in run.lines if (m := CHECK.match(line)) and m[1] == "domain.null_call")
    assert int(check[3]) > 0 and check[2] == check[3], "the callee did not count the calls"


def test_every_image_is_measured_and_the_demo_domains_load_in_64_kib(quick_run):
    run = quick_run
    images = {m[1]: (int(m[2]), int(m[3])) for line in run.lines if (m := IMAGE.match(line))}
    manifest = json.loads((ROOT / "domains" / "manifest.json").read_text())
    assert set(images) == {d["name"] for d in manifest["domains"]}, run.tail()
    for name, (file, loaded) in images.items():
        assert file == (ROOT / "build" / "domains" / f"{name}.so").stat().st_size, name
        assert loaded > 0 and loaded % 4096 == 0, f"{name}: {loaded} bytes loaded"
    for name in ("hello", "counter", "crasher", "client"):
        assert images[name][1] <= 64 * 1024, f"{name} loads as {images[name][1] // 1024} KiB"
