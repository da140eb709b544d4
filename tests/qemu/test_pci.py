"""PCI: the boot log lists every function, with and without a virtio-blk disk attached,
and the in-kernel PCI tests pass in both boots (the `pcidisk` group needs the disk)."""
import re

import pytest

from conftest import boot

DEVICE_LINE = re.compile(
    r"^\[info\] pci (?P<address>[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]) "
    r"(?P<vendor>[0-9a-f]{4}):(?P<device>[0-9a-f]{4}) (?P<rest>.*)$")


@pytest.fixture(scope="module")
def disk(tmp_path_factory):
    image = tmp_path_factory.mktemp("pci") / "disk.img"
    image.write_bytes(b"\0" * (1 << 20))
    return image


def devices(run):
    """{address: (vendor:device, the rest of the line)} from the boot log."""
    found = {}
    for line in run.lines:
        match = DEVICE_LINE.match(line)
        if match:
            found[match["address"]] = (f"{match['vendor']}:{match['device']}", match["rest"])
    return found


def test_boot_log_lists_the_i440fx():
    run = boot("test=pci")
    found = devices(run)
    assert found.get("00:00.0", ("",))[0] == "8086:1237", run.tail()
    assert found["00:00.0"][1].startswith("host bridge"), run.tail()
    assert found.get("00:01.0", ("",))[0] == "8086:7000", run.tail()
    assert found["00:01.0"][1].startswith("ISA bridge"), run.tail()
    nic = found.get("00:03.0", ("", ""))
    assert nic[0] == "8086:100e" and "Ethernet controller" in nic[1], run.tail()
    assert re.search(r"BAR0 mem32 0x[0-9a-f]+ size 0x20000", nic[1]), nic[1]
    assert re.search(r"INTx A \(line 1[01]\)", nic[1]), nic[1]
    assert not any(vendor == "1af4:1001" for vendor, _ in found.values()), run.tail()
    assert any(re.fullmatch(rf"\[info\] pci: {len(found)} functions on 1 bus", line)
               for line in run.lines), run.tail()


def test_boot_log_lists_the_disk(disk):
    run = boot("test=pci,pcidisk", disk=disk)
    found = devices(run)
    virtio = [rest for vendor, rest in found.values() if vendor == "1af4:1001"]
    assert len(virtio) == 1, run.tail()
    line = virtio[0]
    assert "SCSI storage controller" in line and "MSI-X 2" in line, line
    assert re.search(r"BAR0 io 0x[0-9a-f]+ size 0x80", line), line
    assert re.search(r"BAR4 mem64 prefetchable 0x[0-9a-f]{8} size 0x4000", line), line


@pytest.mark.parametrize("with_disk", [False, True], ids=["no_disk", "disk"])
def test_pci_tests_pass(with_disk, disk):
    run = boot("test=pci,pcidisk", disk=disk) if with_disk else boot("test=pci")
    results = run.test_results()
    expected_groups = {"pci", "pcidisk"} if with_disk else {"pci"}
    assert {name.split(".")[0] for name in results} == expected_groups, run.tail()
    failed = {name: why for name, (ok, why) in results.items() if not ok}
    assert not failed, f"{failed}{run.tail()}"
    assert run.problem_in_test_run() is None, run.problem_in_test_run() + run.tail()


def test_disk_tests_fail_without_a_disk():
    run = boot("test=pcidisk.virtio_blk_found")
    assert run.test_results().get("pcidisk.virtio_blk_found", (True,))[0] is False, run.tail()


def test_shell_lists_devices(disk):
    run = boot("", stdin="devices\n", disk=disk)
    assert any(line.startswith("  00:04.0 1af4:1001 SCSI storage controller")
               for line in run.lines), run.tail()
    assert any(line.strip() == "free, no interrupt, 0 interrupts" for line in run.lines), run.tail()
    assert "7 functions on 1 bus" in run.lines, run.tail()
    assert run.problem() is None, run.problem() + run.tail()


def test_firmware_assigned_bars_through_grub():
    """SeaBIOS (the GRUB ISO boot) assigns BARs itself; the kernel keeps them."""
    run = boot(iso=True)
    nic = devices(run).get("00:03.0", ("", ""))
    assert nic[0] == "8086:100e", run.tail()
    assert re.search(r"BAR0 mem32 0xfe[0-9a-f]{6} size 0x20000", nic[1]), nic[1]
