"""The hostile suite at run time: domains written to attack (tests/hostile) boot beside
the usual ones and the block driver on the pattern disk; the kernel's `hostile` tests
make each attack and check it is contained (kernel/test/HostileTests.swift). Afterwards
the host checks the disk: the attacks read only, so no block may have changed."""
import subprocess
import sys

import pytest

from conftest import ROOT, boot

DISKIMAGE = ROOT / "scripts" / "diskimage.py"


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    image = tmp_path_factory.mktemp("hostile") / "disk.img"
    made = subprocess.run([sys.executable, str(DISKIMAGE), "make", str(image)],
                          capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    return image, boot("test=hostile", disk=image, suite="hostile", timeout=300)


def test_every_attack_is_contained(hostile_run):
    _, run = hostile_run
    problem = run.problem_in_test_run()
    assert problem is None, problem + run.tail()
    results = run.test_results()
    failed = {name: why for name, (passed, why) in results.items() if not passed}
    assert len(results) >= 10 and not failed, f"{failed}{run.tail()}"


def test_the_hostile_domains_loaded_as_domains(hostile_run):
    _, run = hostile_run
    for name in ("hostile", "relay"):
        assert any(line.startswith(f"[info] domain '{name}': running") for line in run.lines), \
            run.tail()


def test_the_disk_is_unchanged(hostile_run):
    image, run = hostile_run
    check = subprocess.run([sys.executable, str(DISKIMAGE), "verify", str(image)],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stderr + run.tail()
