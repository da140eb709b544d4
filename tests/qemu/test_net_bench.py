"""The network benchmark runs end to end on one NIC and writes its records; no figure is
asserted here (`make bench-net` reports them)."""
import json
import subprocess
import sys

from conftest import ROOT


def test_bench_net_quick_run_writes_its_records(tmp_path):
    (tmp_path / "latest.json").write_text('[{"name": "call.direct"}]\n')
    (tmp_path / "latest.md").write_text("earlier results\n")
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "bench_net.py"), "--quick",
                             "--configs", "virtio", "--output", str(tmp_path)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    records = {r["name"]: r for r in json.loads((tmp_path / "latest.json").read_text())}
    assert "call.direct" in records, "the other benchmarks' records were dropped"
    assert records.get("net.virtio.lost", {}).get("median") == 0, result.stdout[-3000:]
    for metric in ("rtt_64.median", "rtt_1024.p99", "throughput_64", "throughput_1024"):
        assert records[f"net.virtio.{metric}"]["median"] > 0, metric
    text = (tmp_path / "latest.md").read_text()
    assert text.startswith("earlier results") and "## Network: UDP echo" in text
