"""The ways people boot Swiftlet: `make run` without a terminal, the shell, and GRUB."""
import re
import subprocess

from conftest import ROOT, SUCCESS, boot


def test_make_run_without_a_terminal_returns():
    result = subprocess.run(["make", "-s", "run", "CMDLINE=test=console"], cwd=ROOT,
                            stdin=subprocess.DEVNULL, capture_output=True, text=True,
                            timeout=300)
    lines = result.stdout.splitlines()
    assert any(line.startswith("Swiftlet ") for line in lines), result.stdout[-3000:]
    assert any(line.rstrip("\r").endswith(" passed, 0 failed") for line in lines), result.stdout
    assert result.returncode == 0, result.stderr


def test_shell_answers_commands_and_rejects_bad_ones():
    run = boot("", stdin="help\nmem\nfrobnicate now\nversion\n")
    text = run.text
    assert "shutdown  leave QEMU" in text, run.tail()
    assert "heap: " in text and "live allocations" in text, run.tail()
    assert "unknown command 'frobnicate' (type 'help' for the list)" in text, run.tail()
    assert text.count("Swiftlet 0.1.0") >= 2, run.tail()  # the banner and `version`
    assert run.status == SUCCESS, run.problem() + run.tail()


def test_grub_iso_boots_to_the_banner():
    run = boot(iso=True)
    banners = [line for line in run.lines if line.startswith("Swiftlet ")]
    assert banners, "no banner through GRUB" + run.tail()
    assert "via multiboot2" in banners[0] and "GRUB" in banners[0], banners[0]
    assert run.status == SUCCESS, run.problem() + run.tail()


DOMAINS = ("client", "counter", "crasher", "hello")


def test_boot_loads_and_logs_every_domain():
    run = boot("", stdin="domains\n")
    for name in DOMAINS:
        assert any(line.startswith(f"[info] domain '{name}': running") for line in run.lines), \
            f"no load line for {name}" + run.tail()
        assert any(re.match(rf"\s*\d+ {name}: running", line)
                   for line in run.lines), f"'domains' does not list {name}" + run.tail()
    assert run.status == SUCCESS, run.problem() + run.tail()


def test_grub_iso_loads_the_domains_too():
    run = boot(iso=True)
    for name in DOMAINS:
        assert any(line.startswith(f"[info] domain '{name}': running") for line in run.lines), \
            f"GRUB boot did not load {name}" + run.tail()
