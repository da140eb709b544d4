"""The virtio-net driver domain (domains/virtio_net) on QEMU's modern virtio-net-pci,
driven from the kernel through NetworkDevice (kernel/test/NetworkDeviceTests.swift, the
`net` group): an ARP exchange with slirp's gateway built by hand, refused frame lengths,
the receive capacity, a transmit while a wait for frames sleeps, and the driver crashed
in the middle of a receive and of a transmit and back, with MSI-X and with INTx. And the
one line a boot gives without a device, or with a transitional device it refuses."""
import re

import pytest

from conftest import SUCCESS, boot

# The NIC plumbing (qemu.sh --net, the loopback-only namespace) comes with netguest.py.
Guest = pytest.importorskip("netguest", reason="needs tests/qemu/netguest.py").Guest

UP = re.compile(r"^\[info\] \[virtio_net\] virtio-net: up, MAC 52:54:00:12:34:56, link up, "
                r"128 receive and 128 transmit queue entries, (MSI-X|INTx)$")
CLOSING = re.compile(r"^\d+ passed, \d+ failed$", re.MULTILINE)
CRASHED = "[warning] domain 'virtio_net' crashed"
NO_DEVICE = ("[info] [virtio_net] virtio-net: no device: no virtio-net device is attached "
             "(QEMU: -device virtio-net-pci,disable-legacy=on)")
REFUSED = ("[info] [virtio_net] virtio-net: no device: refusing the transitional (legacy) "
           "virtio-net device 1af4:1000: this driver takes modern devices only; give QEMU "
           "-device virtio-net-pci,disable-legacy=on")
OTHER_DOMAINS = ["client", "counter", "crasher", "hello", "virtio_blk"]


def finished(net_options=None, cmdline="test=net"):
    """A boot with a modern virtio-net NIC that ran `cmdline` to its end."""
    guest = Guest("virtio", net_options=net_options, cmdline=cmdline, timeout=240)
    with guest:
        if cmdline:
            guest.wait_for(CLOSING, 220, what="the net group's closing count")
    return guest


@pytest.mark.parametrize("interrupt,options", [("MSI-X", None), ("INTx", "vectors=0")])
def test_the_net_group_passes(interrupt, options):
    guest = finished(options)
    lines = guest.lines
    results = [line for line in lines if line.startswith("TEST net.")]
    assert len(results) >= 7, guest.tail()
    assert all(line.endswith(" ... ok") for line in results), guest.tail()
    assert guest.process.returncode == SUCCESS, guest.tail()
    # Up at boot, and again after each of the two planned crashes, which reset the device.
    starts = [match[1] for match in map(UP.match, lines) if match]
    assert starts == [interrupt] * 3, guest.tail()
    assert sum(line.startswith(CRASHED) for line in lines) == 2, guest.tail()
    assert any("revoked from domain" in line for line in lines), "device not revoked" + guest.tail()


def test_without_a_nic_the_driver_says_so_once():
    run = boot("", net="none")
    assert run.status == SUCCESS, run.tail()
    assert sum(line.startswith("[info] [virtio_net]") for line in run.lines) == 1, run.tail()
    assert NO_DEVICE in run.lines, run.tail()
    assert_others_run(run.lines, run.tail())


def test_a_transitional_device_is_refused_by_name():
    guest = Guest("virtio", net_options="disable-legacy=off", timeout=120)
    with guest:
        guest.wait_for(re.escape(REFUSED), 60, what="the refusal")
        guest.wait_for(re.escape("domain 'virtio_net': running"), 60)
    assert not any(UP.match(line) for line in guest.lines), guest.tail()
    assert_others_run(guest.lines, guest.tail())


def assert_others_run(lines, tail):
    for name in OTHER_DOMAINS:
        assert any(line.startswith(f"[info] domain '{name}': running") for line in lines), \
            f"domain '{name}' did not start" + tail
