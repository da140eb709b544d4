"""A short fault campaign (scripts/faults.py with a fixed seed and a few hundred faults):
under block, call and UDP echo load, every activated fault is contained or, for a bit
flip, silent; nothing panics or hangs; no datagram comes back wrong, no block is lost,
the disk holds what was acknowledged, and memory is back to its baseline."""
import sys

import pytest

from conftest import ROOT, SUCCESS, in_loopback_namespace

sys.path.insert(0, str(ROOT / "scripts"))
import faults  # noqa: E402

SEED = 1313
COUNT = 500
SECONDS = 45
HEARTBEAT = 3  # seconds: a few heartbeats, as a soak prints


@pytest.fixture(scope="module")
def campaign(tmp_path_factory):
    in_loopback_namespace()
    run = faults.run_campaign(SEED, COUNT, SECONDS, "virtio", tmp_path_factory.mktemp("faults"),
                              heartbeat=HEARTBEAT)
    report = faults.analyse(run)
    return run, report


def explain(report):
    """The summary, with the failed faults and the log lines before them."""
    return "\n" + faults.summary(report)


def test_no_panic_and_no_hang(campaign):
    run, report = campaign
    assert not run.stalled, explain(report)
    assert not report["panic"], explain(report)
    assert run.status == SUCCESS, explain(report)
    assert report["end"] == "ok", explain(report)


def test_faults_were_activated_at_checkpoints_in_every_target_domain(campaign):
    """A bit flip needs no code of the domain to run, so each target must also have had
    a fault fire at one of its checkpoints: its code paths ran under the load."""
    _, report = campaign
    assert report["activated"] >= 100, explain(report)
    activated = {row["domain"] for row in report["tallies"]
                 if row.get("activated") and row["kind"] != "bit-flip"}
    missing = set(report["targets"]) - activated
    assert report["targets"] and not missing, \
        f"no fault activated at a checkpoint of {sorted(missing)}" + explain(report)


def test_every_activated_fault_contained_or_silent(campaign):
    _, report = campaign
    totals = report["totals"]
    assert totals["failed"] == 0, explain(report)
    assert not any(outcome.startswith("failed") for outcome in report["outcomes"]), explain(report)
    assert totals["activated"] == totals["contained"] + totals["silent"], explain(report)
    for row in report["tallies"]:
        if row["kind"] != "bit-flip":
            assert row["silent"] == 0, f"{row}" + explain(report)
    # Only a flipped bit may leave a domain running without serving (no crash to
    # restart it): any other fault that did so would be a failure of recovery.
    assert all(fault["kind"] == "bit-flip" for fault in report["unrecovered"]), explain(report)


def test_no_corrupted_datagram_and_the_echo_served(campaign):
    _, report = campaign
    udp = report["udp"]
    assert udp["corrupted"] == 0, f"{udp['corrupted_samples'][:5]}" + explain(report)
    assert udp["echoed"] > 1000, explain(report)


def test_no_block_lost_and_the_disk_holds_what_was_acknowledged(campaign):
    _, report = campaign
    assert report["load"] and report["load"]["block_lost"] == 0, explain(report)
    assert report["load"]["calls_lost"] == 0, explain(report)  # lent arrays came back whole
    assert report["load"]["blocks_verified"] > 100, explain(report)
    disk = report["disk"]
    assert disk["complete"] and disk["blocks_written"] > 0, explain(report)
    assert disk["ok"], f"{disk['first_problems']}" + explain(report)


def test_memory_back_to_its_baseline(campaign):
    _, report = campaign
    assert report["memory"] is not None, explain(report)
    assert all(value == 0 for value in report["memory"].values()), explain(report)


def test_heartbeats_carry_the_load_and_memory_counters(campaign):
    """What a soak watches: every HEARTBEAT seconds, the faults so far, the verified work,
    and the memory in use against the baseline."""
    _, report = campaign
    beats = report["heartbeats"]
    assert beats, explain(report)
    fields = {"seconds", "activated", "blocks_verified", "calls_verified", "kernel_bytes",
              "kernel_allocations", "shared_bytes", "shared_allocations", "frames"}
    for beat in beats:
        assert set(beat) == fields and all(isinstance(v, int) for v in beat.values()), beat
    assert [beat["seconds"] for beat in beats] == sorted(beat["seconds"] for beat in beats), beats
    assert beats[-1]["activated"] > 0 and beats[-1]["blocks_verified"] > 0, beats


def test_the_verdict_and_the_report(campaign, tmp_path):
    _, report = campaign
    written = faults.write_report(report, tmp_path, with_chart=False)
    table = (tmp_path / "faults-latest.md").read_text()
    assert "| **all** |" in table and f"Seed {SEED}" in table, table
    assert "## Heartbeats" in table, table
    assert report["verdict"] == "pass", explain(report)
    assert len(written) == 2
