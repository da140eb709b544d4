"""The virtio-blk driver domain against a real (QEMU) disk: the kernel reads every block
of a 64 MiB pattern disk and checks it, rewrites fixed ranges, crashes the driver in the
middle of a batch, and exits; then the host reads the image and checks that exactly the
acknowledged writes landed. A boot without a disk, or with a device the driver cannot
drive, says why and starts every other domain."""
import pathlib
import subprocess
import sys

import pytest

from conftest import ROOT, SUCCESS, boot

DISKIMAGE = ROOT / "scripts" / "diskimage.py"
# The ranges kernel/test/BlockTests.swift rewrites: (first block, count, generation).
WRITTEN = [(1000, 64, 7), (2000, 32, 9)]
STARTED = "[info] [virtio_blk] virtio-blk: 16384 blocks of 4 KiB (64 MiB), writable"
OTHER_DOMAINS = ["client", "counter", "crasher", "hello"]


def diskimage(*args):
    return subprocess.run([sys.executable, str(DISKIMAGE), *map(str, args)],
                          capture_output=True, text=True)


@pytest.fixture(scope="module")
def block_run(tmp_path_factory):
    image = tmp_path_factory.mktemp("block") / "disk.img"
    assert diskimage("make", image).returncode == 0
    return image, boot("test=block", disk=image, timeout=240)


def test_block_tests_pass(block_run):
    _, run = block_run
    problem = run.problem_in_test_run()
    assert problem is None, problem + run.tail()
    results = run.test_results()
    assert len(results) >= 4 and all(passed for passed, _ in results.values()), run.tail()


def test_the_driver_crashed_mid_batch_and_started_again(block_run):
    _, run = block_run
    assert run.test_results().get("block.crash_mid_batch_recovers", (False,))[0], run.tail()
    crashes = [line for line in run.lines if line.startswith("[warning] domain 'virtio_blk' crashed")]
    assert len(crashes) == 1, run.tail()
    assert sum(line.startswith(STARTED) for line in run.lines) == 2, "no second start" + run.tail()
    assert any("revoked from domain" in line for line in run.lines), "device not revoked" + run.tail()


def test_the_acknowledged_writes_landed_and_nothing_else_changed(block_run):
    image, run = block_run
    assert run.status == SUCCESS, run.tail()
    written = [f"--written={first}:{count}:{generation}" for first, count, generation in WRITTEN]
    check = diskimage("verify", image, *written)
    assert check.returncode == 0, check.stderr


def test_the_check_would_notice_a_lost_write(block_run):
    image, _ = block_run
    check = diskimage("verify", image)  # as if nothing had been written
    assert check.returncode != 0 and "block 1000: expected generation 0" in check.stderr


def test_the_driver_works_with_intx_too(tmp_path):
    """With MSI-X off (vectors=0) the kernel routes INTx and the driver reads the ISR."""
    image = tmp_path / "intx.img"
    assert diskimage("make", image, "--mib", 16).returncode == 0
    run = boot("test=block", disk=image, disk_options="vectors=0", timeout=120)
    assert run.problem_in_test_run() is None, run.problem_in_test_run() + run.tail()
    assert any("virtio-blk: 4096 blocks" in line and line.endswith("INTx") for line in run.lines), \
        run.tail()
    written = [f"--written={first}:{count}:{generation}" for first, count, generation in WRITTEN]
    check = diskimage("verify", image, *written)
    assert check.returncode == 0, check.stderr


def test_a_disk_too_slow_for_the_timeout_costs_errors_not_hangs():
    """QEMU's null block driver taking 700 ms a request, past the driver's 500 ms timeout:
    every call comes back `.ioError` within its budget, the driver resets the device and
    sets it up again each time, and never crashes."""
    run = boot("test=blockslow", slow_disk=700, timeout=120)
    assert run.problem_in_test_run() is None, run.problem_in_test_run() + run.tail()
    results = run.test_results()
    assert len(results) == 3 and all(passed for passed, _ in results.values()), run.tail()
    resets = [line for line in run.lines if "virtio-blk: the device was reset (virtio-blk "
              "device did not complete requests in time); setting it up again" in line]
    assert len(resets) >= 5, run.tail()
    assert sum(line.startswith(STARTED) for line in run.lines) == len(resets) + 1, run.tail()
    assert not any("domain 'virtio_blk' crashed" in line for line in run.lines), run.tail()


def test_two_batches_at_once_on_a_slow_disk_both_come_back_whole():
    """100 ms a request, inside the timeout: a call always waits for its device, so a second
    call enters the driver meanwhile; with 64 requests the queue cannot hold both batches,
    and the driver lets calls take turns rather than refuse requests."""
    run = boot("test=blockdelay", slow_disk=100, timeout=120)
    assert run.problem_in_test_run() is None, run.problem_in_test_run() + run.tail()
    assert run.test_results().get("blockdelay.two_batches_at_once", (False,))[0], run.tail()
    assert not any("virtio-blk: the device was reset" in line for line in run.lines), run.tail()


def assert_others_run(run):
    for name in OTHER_DOMAINS:
        assert any(line.startswith(f"[info] domain '{name}': running") for line in run.lines), \
            f"domain '{name}' did not start" + run.tail()


def test_no_disk_is_a_clear_message_and_the_rest_runs():
    run = boot("test=domains.boot_modules_loaded")
    assert run.problem_in_test_run() is None, run.tail()
    assert "[info] [virtio_blk] virtio-blk: no disk: no such device is attached" in run.lines, \
        run.tail()
    assert_others_run(run)


def test_a_legacy_only_device_is_refused_by_name(tmp_path):
    image = tmp_path / "small.img"
    assert diskimage("make", image, "--mib", 1).returncode == 0
    run = boot("test=domains.boot_modules_loaded", disk=image, disk_options="disable-modern=on")
    assert run.problem_in_test_run() is None, run.tail()
    assert any("virtio-blk: no disk: no virtio common configuration capability" in line
               for line in run.lines), run.tail()
    assert_others_run(run)
