#!/usr/bin/env python3
"""The fault campaign: thousands of injected faults under load, then the report.

    scripts/faults.py [--seed N] [--count N] [--seconds N] [--net virtio|e1000]
                      [--output DIR] [--work DIR] [--netport N] [--rate N]
                      [--every MS] [--heartbeat S] [--name NAME]

It boots the kernel with `faults=SEED,COUNT,SECONDS,EVERY,HEARTBEAT`
(kernel/faults/Campaign.swift), a fresh pattern disk (scripts/diskimage.py) and a NIC,
in a network namespace with only loopback (tests/qemu/netguest.py), and reads the
serial console as it comes. From the kernel's `FAULTS load on` to its `FAULTS load off`
a host client keeps up to 32 UDP datagrams in flight to the guest's echo service, and
checks every answer: its sequence number, its length and every byte. After QEMU exits,
every block of the disk image must hold what the kernel says it may (its `FAULTS disk`
lines for the blocks it wrote, the pattern as made for the others). The report goes to
DIR (bench/results) as NAME-latest.json (everything), NAME-latest.md (a table per domain
and fault kind, the totals, the heartbeats and the end-of-run checks) and
NAME-latest.png; the serial log and the disk stay in the work directory (build/faults).
The verdict fails on a panic, a hang, any failed fault, any corrupted datagram
delivered, any block lost or wrong on disk, or memory not back to its baseline; the
exit status is 1 then.

`make faults` runs it as fast as the lanes go; `make soak` paces it (`--every 1000`: a
fault a second) for MINUTES, with a memory heartbeat every HEARTBEAT seconds, and names
its report soak-latest.

Used as a library by the short campaign test (tests/qemu/test_fault_campaign.py):
run_campaign() boots and drives, analyse() checks and judges, write_report() writes the
files.
"""
import argparse
import collections
import hashlib
import json
import os
import pathlib
import random
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "qemu"))
sys.path.insert(0, str(ROOT / "scripts"))
from netguest import QEMU, NamespaceError, enter_loopback_namespace  # noqa: E402

import diskimage  # noqa: E402

DISK_MIB = 64
# The blocks CampaignLoad writes (kernel/faults/CampaignLoad.swift).
CAMPAIGN_BLOCKS = range(8192, 8448)
# scripts/qemu.sh exit statuses.
STATUS_MEANING = {0: "ok", 1: "the kernel reported failure", 2: "kernel panic",
                  3: "the guest reset (triple fault)", 124: "timeout"}
# Time the kernel may take besides SECONDS: booting, the network coming up, the baseline
# and final restarts of every domain, and the last fault's windows (up to ~45 s).
BOOT_AND_REPORT_SECONDS = 240
# No serial line for this long while the campaign runs: a hang.
STALL_SECONDS = 120

# ---- The serial console's lines (Campaign.swift prints them) -------------------------

START = re.compile(r"^FAULTS start seed=(\d+) count=(\d+) seconds=(\d+)"
                   r"(?: every=(\d+) heartbeat=(\d+))?$")
HEARTBEAT = re.compile(r"^FAULTS heartbeat (seconds=.*)$")
NETWORK_UP = re.compile(r"^FAULTS network (up|down)$")
TARGET = re.compile(r"^FAULTS target (\S+) kinds=(\S*)$")
LOAD_ON = re.compile(r"^FAULTS load on$")
LOAD_OFF = re.compile(r"^FAULTS load off after (\d+) s, (\d+) faults activated$")
FAULT = re.compile(r"^FAULT (\d+) (\S+) (\S+) (\S+) (\S+) (\d+)(?: state=(\S+) crashes=(\d+))?$")
TALLY = re.compile(r"^FAULTS tally (\S+) (\S+) (.*)$")
LOAD = re.compile(r"^FAULTS load (blocks_verified=.*)$")
NETWORK = re.compile(r"^FAULTS network (received=.*)$")
DISK = re.compile(r"^FAULTS disk (\d+) (\d+)(?: (\d+))?$")
MEMORY = re.compile(r"^FAULTS memory (.*)$")
END = re.compile(r"^FAULTS end (ok|leaked)$")
PANIC = re.compile(r"^PANIC:")
# A FAULT line not at the start of its line: output of two threads interleaved.
EMBEDDED_FAULT = re.compile(r".FAULTS? ")

OUTCOMES = ("recovered", "caught", "silent", "failed-no-service", "failed-not-restarted",
            "failed-not-contained", "failed-not-running", "unrecovered")
# A fault due in a domain that was not running is a failure, but was never activated.
NOT_ACTIVATED = ("failed-not-running",)
TALLY_FIELDS = ("injected", "activated", "contained", "recovered", "silent", "failed")


def key_values(text):
    """{key: int} of `key=value` words (values that are not numbers stay text)."""
    out = {}
    for word in text.split():
        key, _, value = word.partition("=")
        out[key] = int(value) if re.fullmatch(r"-?\d+", value) else value
    return out


# ---- UDP echo load -------------------------------------------------------------------

SMALLEST, LARGEST = 16, 1472  # a sequence number and a little pattern; a full Ethernet frame
PATTERN = b"".join(hashlib.sha256(i.to_bytes(4, "little")).digest() for i in range(64))


def datagram(sequence):
    """Datagram `sequence` of the load: its number, then a stretch of PATTERN that starts
    where the number says, so its length and every byte follow from the number."""
    size = SMALLEST + (sequence * 2654435761 >> 8) % (LARGEST - SMALLEST + 1)
    start = sequence % 251
    return sequence.to_bytes(8, "little") + PATTERN[start:start + size - 8]


# A datagram's state in EchoLoad.states.
UNSENT, IN_FLIGHT, ECHOED, OVERDUE, LATE = 0, 1, 2, 3, 4


class EchoLoad:
    """Keeps up to `window` datagrams in flight to the echo service and checks each answer.

    A datagram unanswered after `answer_within` seconds is overdue and its place in the
    window goes to a new one (so the load goes on while the echo is down); an answer that
    comes later still counts, as late. What is never answered is lost. An answer that is
    not exactly a datagram sent (a wrong number, length or byte) is corrupted: delivered
    wrong data, a failure. `rate` caps the datagrams sent per second (None: as fast as
    the answers come)."""

    def __init__(self, port, window=32, answer_within=0.25, rate=None, host="127.0.0.1"):
        self.address = (host, port)
        self.window = window
        self.answer_within = answer_within
        self.rate = rate
        self.states = bytearray()
        self.in_flight = collections.OrderedDict()  # sequence: time sent
        self.counts = collections.Counter()
        self.corrupted = []  # (sequence or None, bytes sent, bytes back, first wrong offset)
        self.round_trips = []  # a sample, in microseconds
        self.per_second = collections.Counter()  # second since start: datagrams echoed
        self.started = None
        self.stopped_at = None
        self.stopping = threading.Event()
        self.drain_seconds = 1.0
        self.thread = None
        self.error = None

    def start(self):
        self.started = time.monotonic()
        self.thread = threading.Thread(target=self._run, name="echo load", daemon=True)
        self.thread.start()

    def stop(self, drain_seconds=1.0):
        """Stops sending, takes answers for `drain_seconds` more, and returns the counts."""
        self.drain_seconds = drain_seconds
        self.stopping.set()
        if self.thread is not None:
            self.thread.join()
        return self.summary()

    def _run(self):
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
                client.settimeout(0.005)
                self._send_and_check(client)
                self._drain(client)
        except Exception as error:  # reported, not raised: the campaign goes on
            self.error = repr(error)

    def _send_and_check(self, client):
        sent_this_second, second = 0, int(time.monotonic())
        while not self.stopping.is_set():
            now = time.monotonic()
            if int(now) != second:
                sent_this_second, second = 0, int(now)
            while len(self.in_flight) < self.window and (
                    self.rate is None or sent_this_second < self.rate):
                self._send(client)
                sent_this_second += 1
            self._receive(client)
            self._expire(time.monotonic())

    def _drain(self, client):
        self.stopped_at = time.monotonic()
        deadline = self.stopped_at + self.drain_seconds
        while time.monotonic() < deadline:
            self._receive(client)
        for sequence in self.in_flight:
            self.states[sequence] = OVERDUE
        self.in_flight.clear()

    def _send(self, client):
        sequence = len(self.states)
        self.states.append(IN_FLIGHT)
        self.in_flight[sequence] = time.monotonic()
        try:
            client.sendto(datagram(sequence), self.address)
        except OSError:
            self.counts["send_errors"] += 1
        self.counts["sent"] += 1

    def _receive(self, client):
        try:
            reply = client.recv(65536)
        except socket.timeout:
            return
        except OSError:  # ICMP port unreachable from an earlier datagram: QEMU is gone
            self.counts["receive_errors"] += 1
            time.sleep(0.005)
            return
        now = time.monotonic()
        sequence = int.from_bytes(reply[:8], "little") if len(reply) >= 8 else None
        if sequence is None or sequence >= len(self.states):
            self._corrupted(sequence, None, reply)
            return
        expected = datagram(sequence)
        if reply != expected:
            self._corrupted(sequence, expected, reply)
            return
        state = self.states[sequence]
        if state == IN_FLIGHT:
            self.states[sequence] = ECHOED
            sent = self.in_flight.pop(sequence)
            self.counts["echoed"] += 1
            if len(self.round_trips) < 200_000:
                self.round_trips.append((now - sent) * 1e6)
            self.per_second[int(now - self.started)] += 1
        elif state == OVERDUE:
            self.states[sequence] = LATE
            self.counts["echoed"] += 1
            self.counts["late"] += 1
            self.per_second[int(now - self.started)] += 1
        else:
            self.counts["duplicates"] += 1

    def _corrupted(self, sequence, expected, reply):
        self.counts["corrupted"] += 1
        if len(self.corrupted) < 100:
            offset = None
            if expected is not None:
                offset = next((i for i, (a, b) in enumerate(zip(expected, reply)) if a != b),
                              min(len(expected), len(reply)))
            self.corrupted.append({"sequence": sequence,
                                   "bytes_sent": None if expected is None else len(expected),
                                   "bytes_back": len(reply), "first_wrong_byte": offset,
                                   "start_of_answer": reply[:16].hex()})

    def _expire(self, now):
        while self.in_flight:
            sequence, sent = next(iter(self.in_flight.items()))
            if now - sent < self.answer_within:
                break
            del self.in_flight[sequence]
            self.states[sequence] = OVERDUE

    def summary(self):
        sent = self.counts["sent"]
        lost = self.states.count(OVERDUE)
        trips = sorted(self.round_trips)
        seconds = (self.stopped_at or time.monotonic()) - (self.started or time.monotonic())
        return {
            "sent": sent, "echoed": self.counts["echoed"], "lost": lost,
            "late": self.counts["late"], "corrupted": self.counts["corrupted"],
            "duplicates": self.counts["duplicates"], "send_errors": self.counts["send_errors"],
            "receive_errors": self.counts["receive_errors"],
            "seconds": round(seconds, 1),
            "echoed_per_second": round(self.counts["echoed"] / seconds, 1) if seconds > 0 else None,
            "round_trip_us_median": round(trips[len(trips) // 2]) if trips else None,
            "round_trip_us_p99": round(trips[int(len(trips) * 0.99)]) if trips else None,
            "window": self.window, "answer_within_s": self.answer_within, "rate_cap": self.rate,
            "corrupted_samples": self.corrupted, "client_error": self.error,
            "echoed_each_second": [self.per_second.get(s, 0)
                                   for s in range(int(seconds) + 1)] if self.started else [],
        }


# ---- One campaign boot -----------------------------------------------------------------

class CampaignRun:
    """What one boot left: the serial lines (with the host's time of each FAULT line),
    QEMU's status, the UDP counts, the disk image, and the timings."""

    def __init__(self, seed, count, seconds, net, work, every=0, heartbeat=0):
        self.seed, self.count, self.seconds, self.net = seed, count, seconds, net
        self.every, self.heartbeat = every, heartbeat
        self.work = pathlib.Path(work)
        self.disk = self.work / "disk.img"
        self.log = self.work / "serial.log"
        self.cmdline = (f"faults={seed},{count},{seconds},{every},{heartbeat} "
                        "ip=10.0.2.15/24,gw=10.0.2.2")
        self.args = []
        self.lines = []
        self.fault_times = {}  # FAULT number: seconds after `load on`, on the host clock
        self.status = None
        self.stalled = False
        self.udp = None
        self.started = self.load_on_at = self.load_off_at = self.ended = None
        self.stderr = ""

    @property
    def duration(self):
        return (self.ended or time.monotonic()) - self.started


def random_seed():
    return random.SystemRandom().randrange(1, 2**32)


def run_campaign(seed, count, seconds, net="virtio", work=ROOT / "build" / "faults",
                 netport=5555, rate=None, stall=STALL_SECONDS, progress=None, every=0,
                 heartbeat=0):
    """Boots one campaign and drives its UDP load; returns a CampaignRun. `progress` is
    called with each serial line of interest (or None for none). `every` (ms) paces the
    faults and `heartbeat` (s) asks for memory heartbeats, as a soak does."""
    enter_loopback_namespace()
    run = CampaignRun(seed, count, seconds, net, work, every, heartbeat)
    run.work.mkdir(parents=True, exist_ok=True)
    diskimage.make(run.disk, DISK_MIB)
    timeout = seconds + BOOT_AND_REPORT_SECONDS
    run.args = [str(QEMU), "--timeout", str(timeout), "--disk", str(run.disk), "--net", net,
                "--netport", str(netport), "--cmdline", run.cmdline]
    run.started = time.monotonic()
    # stdin at its end: qemu.sh then waits for nothing but QEMU (the campaign never reads the shell).
    process = subprocess.Popen(run.args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, start_new_session=True)
    stderr = []
    threading.Thread(target=lambda: stderr.append(process.stderr.read()), daemon=True).start()
    last_line = [time.monotonic()]
    watching = threading.Event()

    def watchdog():
        # The kernel bounds every wait of a fault, so a silent console is a hang.
        while not watching.wait(1.0):
            if time.monotonic() - last_line[0] > stall:
                run.stalled = True
                os.killpg(process.pid, signal.SIGKILL)
                return
    threading.Thread(target=watchdog, daemon=True).start()

    load = None
    with open(run.log, "w") as log:
        for raw in process.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\r\n").replace("\r", "")
            last_line[0] = time.monotonic()
            log.write(line + "\n")
            run.lines.append(line)
            if not line.startswith("FAULT"):
                if progress and PANIC.match(line):
                    progress(line)
                continue
            if LOAD_ON.match(line):
                run.load_on_at = time.monotonic()
                load = EchoLoad(netport, rate=rate)
                load.start()
            elif LOAD_OFF.match(line):
                run.load_off_at = time.monotonic()
                run.udp = load.stop() if load else None
                load = None
            elif match := FAULT.match(line):
                if run.load_on_at is not None:
                    run.fault_times[int(match[1])] = time.monotonic() - run.load_on_at
                if progress and match[5].startswith("failed"):
                    progress(line)
                continue
            if progress and not line.startswith("FAULTS disk") and not line.startswith("FAULTS tally"):
                progress(line)
    if load is not None:  # the boot ended during the load: a panic or a hang
        run.udp = load.stop(drain_seconds=0)
    watching.set()
    run.status = process.wait()
    run.ended = time.monotonic()
    run.stderr = b"".join(stderr).decode("utf-8", "replace")
    return run


# ---- Reading the log ---------------------------------------------------------------------

def collapsed(lines):
    """`lines` with each run of one repeated line given once, with its count."""
    out = []
    for line in lines:
        if out and out[-1][0] == line:
            out[-1][1] += 1
        else:
            out.append([line, 1])
    return [line if count == 1 else f"{line}  (x{count})" for line, count in out]


def parse(lines):
    """The campaign's lines as a dict (anything missing stays None or empty)."""
    after = {}  # line index of each FAULT line: the log lines up to the next one
    starts = [i for i, line in enumerate(lines) if FAULT.match(line)] + [len(lines)]
    for begin, end in zip(starts, starts[1:]):
        after[begin] = collapsed(lines[begin + 1:end])[:15]
    out = {"start": None, "network_up": None, "targets": {}, "load_on": False, "load_off": None,
           "faults": [], "tallies": [], "load": None, "network": None, "disk": {}, "memory": None,
           "end": None, "panic": [], "garbled": [], "restart_failures": [], "heartbeats": []}
    previous_fault = 0
    for index, line in enumerate(lines):
        if match := FAULT.match(line):
            out["faults"].append({
                "number": int(match[1]), "domain": match[2], "kind": match[3],
                "point": None if match[4] == "-" else match[4], "outcome": match[5],
                "restart_us": int(match[6]), "line": index,
                "state": match[7], "crashes": None if match[8] is None else int(match[8]),
                "context": collapsed(lines[previous_fault + 1:index])[-15:],
                "after": after.get(index, [])})
            previous_fault = index
        elif match := START.match(line):
            out["start"] = {"seed": int(match[1]), "count": int(match[2]), "seconds": int(match[3]),
                            "every": int(match[4] or 0), "heartbeat": int(match[5] or 0)}
        elif match := HEARTBEAT.match(line):
            out["heartbeats"].append(key_values(match[1]))
        elif match := NETWORK_UP.match(line):
            out["network_up"] = match[1] == "up"
        elif match := TARGET.match(line):
            out["targets"][match[1]] = [kind for kind in match[2].split(",") if kind]
        elif LOAD_ON.match(line):
            out["load_on"] = True
        elif match := LOAD_OFF.match(line):
            out["load_off"] = {"seconds": int(match[1]), "activated": int(match[2])}
        elif match := TALLY.match(line):
            out["tallies"].append({"domain": match[1], "kind": match[2], **key_values(match[3])})
        elif match := LOAD.match(line):
            out["load"] = key_values(match[1])
        elif match := NETWORK.match(line):
            out["network"] = key_values(match[1])
        elif match := DISK.match(line):
            out["disk"][int(match[1])] = tuple(int(g) for g in match.groups()[1:] if g is not None)
        elif match := MEMORY.match(line):
            out["memory"] = key_values(match[1])
        elif match := END.match(line):
            out["end"] = match[1]
        elif line.startswith("FAULTS restart of "):
            out["restart_failures"].append(line)
        elif PANIC.match(line):
            out["panic"] = lines[index:index + 40]
        elif EMBEDDED_FAULT.search(line) and ("FAULT " in line or "FAULTS " in line):
            out["garbled"].append(line)
    return out


# ---- Checking the disk ------------------------------------------------------------------

def check_disk(path, written):
    """Every block of the image against what it may hold: for a block the campaign wrote
    (`written`: block -> generations, from its `FAULTS disk` lines) one from the first
    to the last of those; for the other blocks the pattern as made. Without the kernel's list (a boot that did not
    finish), a campaign block may hold any generation, intact."""
    complete = written is not None
    # A block may hold the generation last acknowledged, or any a write not acknowledged
    # since may have left: each write took the next number, so every one up to the
    # highest the kernel names (as CampaignLoad.acceptable says).
    allowed = {block: tuple(range(generations[0], max(generations) + 1))
               for block, generations in (written or {}).items()}
    if not complete:
        allowed.update({block: None for block in CAMPAIGN_BLOCKS})
    found = list(diskimage.problems(path, [], allowed))
    return {"ok": not found, "complete": complete, "blocks_written": len(written or {}),
            "blocks_checked": os.path.getsize(path) // diskimage.BLOCK,
            "problems": len(found), "first_problems": found[:20]}


# ---- Judging and reporting ------------------------------------------------------------

def tally_rows(parsed):
    """One row per domain and kind: the kernel's tally, with the outcomes of its FAULT lines."""
    outcomes = collections.defaultdict(collections.Counter)
    for fault in parsed["faults"]:
        outcomes[(fault["domain"], fault["kind"])][fault["outcome"]] += 1
    rows = []
    for tally in parsed["tallies"]:
        row = dict(tally)
        row["outcomes"] = dict(outcomes.pop((tally["domain"], tally["kind"]), {}))
        rows.append(row)
    for (domain, kind), counted in outcomes.items():  # FAULT lines with no tally line
        rows.append({"domain": domain, "kind": kind, "injected": None, "activated": None,
                     "outcomes": dict(counted)})
    return rows


def totals_of(rows):
    totals = {field: sum(row.get(field) or 0 for row in rows) for field in TALLY_FIELDS}
    restarts = [row for row in rows if row.get("restart_us_max")]
    totals["restart_us_max"] = max((row["restart_us_max"] for row in restarts), default=0)
    return totals


def analyse(run):
    """Checks the disk, judges the run and returns the report (a dict for JSON)."""
    parsed = parse(run.lines)
    rows = tally_rows(parsed)
    totals = totals_of(rows)
    outcomes = collections.Counter(fault["outcome"] for fault in parsed["faults"])
    finished = parsed["end"] is not None
    disk = check_disk(run.disk, parsed["disk"] if finished else None)
    udp = run.udp or {}
    campaign_seconds = parsed["load_off"]["seconds"] if parsed["load_off"] else None
    activated = (parsed["load_off"]["activated"] if parsed["load_off"]
                 else len(parsed["faults"]))
    load_seconds = ((run.load_off_at or run.ended) - run.load_on_at) if run.load_on_at else None

    reasons = []
    if run.stalled:
        reasons.append(f"hang: the console was silent for {STALL_SECONDS} s")
    if run.status != 0:
        reasons.append(f"QEMU status {run.status}: {STATUS_MEANING.get(run.status, 'QEMU failed')}")
    if parsed["panic"]:
        reasons.append(f"kernel panic: {parsed['panic'][0]}")
    if not finished:
        reasons.append("the campaign did not finish (no `FAULTS end` line)")
    elif parsed["end"] != "ok":
        reasons.append("the kernel says memory leaked (`FAULTS end leaked`)")
    failed = sum(count for outcome, count in outcomes.items() if outcome.startswith("failed"))
    if failed or totals["failed"]:
        by = collections.Counter((f["outcome"], f["domain"], f["kind"]) for f in parsed["faults"]
                                 if f["outcome"].startswith("failed"))
        reasons.append(f"{max(failed, totals['failed'])} faults failed: " + ", ".join(
            f"{count} {outcome} {domain}/{kind}" for (outcome, domain, kind), count in by.most_common()))
    unknown = [o for o in outcomes if o not in OUTCOMES]
    if unknown:
        reasons.append(f"unknown outcomes in FAULT lines: {unknown}")
    if activated == 0:
        reasons.append("no fault was activated")
    if udp.get("corrupted"):
        reasons.append(f"{udp['corrupted']} corrupted datagrams delivered to the host client")
    if parsed["load_on"] and not udp.get("echoed"):
        reasons.append("the echo answered no datagram: no network load")
    if udp.get("client_error"):
        reasons.append(f"the UDP client failed: {udp['client_error']}")
    load = parsed["load"] or {}
    if load.get("block_lost"):
        reasons.append(f"{load['block_lost']} blocks lost (an acknowledged write did not read back)")
    if load.get("calls_lost"):
        reasons.append(f"{load['calls_lost']} lent arrays came back borrowed or changed")
    if finished and parsed["load"] is None:
        reasons.append("no `FAULTS load` line")
    memory = parsed["memory"]
    if finished and (memory is None or any(value != 0 for value in memory.values())):
        reasons.append(f"memory not back to its baseline: {memory}")
    if not disk["ok"]:
        reasons.append(f"disk check: {disk['problems']} blocks wrong, first: {disk['first_problems'][:3]}")
    if parsed["restart_failures"]:
        reasons.append(f"restarts failed: {parsed['restart_failures'][:3]}")
    silent_targets = [domain for domain in parsed["targets"]
                      if not any(f["domain"] == domain for f in parsed["faults"])]
    warnings = []
    if silent_targets and finished:
        warnings.append(f"no fault activated in {', '.join(silent_targets)}")
    # Faults planned where the point never ran cost the kernel its activation window each.
    never = collections.defaultdict(list)
    for row in rows:
        if row.get("injected") and row.get("activated") == 0:
            never[row["domain"]].append(f"{row['kind']} x{row['injected']}")
    for domain, kinds in never.items():
        warnings.append(f"{domain}: never activated: {', '.join(kinds)}")
    only_flips = [domain for domain in parsed["targets"]
                  if not any(r["domain"] == domain and r.get("activated") and r["kind"] != "bit-flip"
                             for r in rows)]
    if only_flips and finished:
        warnings.append(f"no checkpoint of {', '.join(only_flips)} fired (bit flips at most)")
    for row in rows:
        lines = sum(count for outcome, count in row["outcomes"].items()
                    if outcome not in NOT_ACTIVATED)
        if row.get("activated") is not None and row["activated"] != lines:
            warnings.append(f"{row['domain']}/{row['kind']}: tally says {row['activated']} "
                            f"activated, {lines} FAULT lines of activated faults")
    if parsed["garbled"]:
        warnings.append(f"{len(parsed['garbled'])} FAULT lines interleaved with other output")

    def explained(wanted):
        return [{key: fault[key] for key in ("number", "domain", "kind", "point", "outcome",
                                             "restart_us", "state", "crashes", "context",
                                             "after")}
                for fault in parsed["faults"] if wanted(fault["outcome"])]
    failures = explained(lambda outcome: outcome.startswith("failed"))
    # Contained (a check caught the flip) but not recovered: the domain went on running
    # without serving, and only a crash restarts a domain.
    unrecovered = explained(lambda outcome: outcome == "unrecovered")
    restart_times = sorted(f["restart_us"] for f in parsed["faults"] if f["outcome"] == "recovered")
    return {
        "verdict": "pass" if not reasons else "fail",
        "reasons": reasons, "warnings": warnings,
        "seed": run.seed, "count": run.count, "seconds": run.seconds, "net": run.net,
        "every_ms": run.every, "heartbeat_s": run.heartbeat, "heartbeats": parsed["heartbeats"],
        "replay": replay(run),
        "cmdline": run.cmdline, "qemu": shlex.join(run.args[1:]),
        "qemu_status": run.status, "qemu_status_meaning": STATUS_MEANING.get(run.status, "QEMU failed"),
        "stalled": run.stalled,
        "duration_s": round(run.duration, 1), "load_s": round(load_seconds, 1) if load_seconds else None,
        "campaign_s": campaign_seconds, "activated": activated,
        "activated_per_second": round(activated / campaign_seconds, 1) if campaign_seconds else None,
        "faults_numbered": max((f["number"] for f in parsed["faults"]), default=0),
        "network_up": parsed["network_up"], "targets": parsed["targets"],
        "tallies": rows, "totals": totals, "outcomes": dict(outcomes),
        "restart_us": {"count": len(restart_times),
                       "median": restart_times[len(restart_times) // 2] if restart_times else None,
                       "p99": restart_times[int(len(restart_times) * 0.99)] if restart_times else None,
                       "max": restart_times[-1] if restart_times else None},
        "udp": udp, "load": parsed["load"], "network": parsed["network"], "disk": disk,
        "memory": memory, "end": parsed["end"], "panic": parsed["panic"],
        "failures": failures[:200], "unrecovered": unrecovered[:200], "garbled": parsed["garbled"][:20],
        "fault_times_s": [round(run.fault_times[f["number"]], 3) for f in parsed["faults"]
                          if f["number"] in run.fault_times],
        "log": str(run.log), "stderr": run.stderr.strip(),
    }


def replay(run):
    """The make command that boots the same run."""
    if run.every:
        return (f"make soak SEED={run.seed} MINUTES={run.seconds // 60} "
                f"HEARTBEAT={run.heartbeat} NET={run.net}")
    return f"make faults SEED={run.seed} COUNT={run.count} SECONDS={run.seconds} NET={run.net}"


def milliseconds(microseconds):
    return "-" if not microseconds else f"{microseconds / 1000:.1f}"


def heartbeat_table(report):
    """The soak's heartbeats: the memory in use against the baseline as it went."""
    beats = report["heartbeats"]
    if not beats:
        return []
    fields = ["kernel_bytes", "kernel_allocations", "shared_bytes", "shared_allocations", "frames"]
    out = ["", "## Heartbeats", "",
           f"Every {report['heartbeat_s']} s: faults activated so far, the load's verified "
           "work, and the memory in use against the baseline. Domains in the middle of a fault "
           "or a restart hold more or less than fresh ones, so these swing; the end-of-run "
           "check, with every domain fresh, is the one that must be 0.", "",
           "| s | activated | blocks verified | calls verified | " + " | ".join(f.replace("_", " ")
                                                                         for f in fields) + " |",
           "|" + "---:|" * (4 + len(fields))]
    for beat in beats:
        out.append(f"| {beat.get('seconds')} | {beat.get('activated')} | {beat.get('blocks_verified')} "
                   f"| {beat.get('calls_verified')} | " + " | ".join(str(beat.get(f)) for f in fields)
                   + " |")
    return out


def markdown(report):
    soak = bool(report["every_ms"])
    pace = f", one every {report['every_ms']} ms" if soak else ""
    out = ["# Soak" if soak else "# Fault campaign", "",
           f"Verdict: **{report['verdict']}**"
           + ("" if report["verdict"] == "pass" else ": " + "; ".join(report["reasons"])), "",
           f"Seed {report['seed']}, {report['count']} faults asked for in at most "
           f"{report['seconds']} s{pace}, {report['net']} NIC; replay with `{report['replay']}`. "
           f"{report['activated']} faults activated in {report['campaign_s']} s "
           f"({report['activated_per_second']} a second) under load; the whole boot took "
           f"{report['duration_s']} s.", "",
           "Per domain and fault kind: *injected* (planned), *activated* (its injection point ran), "
           "*contained* (the domain crashed and its callers got errors, or a check caught the "
           "wrong result), *recovered* (back and serving verified work), *silent* (a flipped bit "
           "nothing noticed), *failed*; the restart time is from the fault to the domain "
           "running again, over the faults it crashed on.", "",
           "| domain | kind | injected | activated | contained | recovered | silent | failed "
           "| restart avg ms | restart max ms |",
           "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in report["tallies"]:
        cells = [row.get(field) for field in TALLY_FIELDS]
        out.append(f"| {row['domain']} | {row['kind']} | "
                   + " | ".join("-" if c is None else str(c) for c in cells)
                   + f" | {milliseconds(row.get('restart_us_avg'))} | {milliseconds(row.get('restart_us_max'))} |")
    totals = report["totals"]
    restarts = report["restart_us"]
    out.append("| **all** | | " + " | ".join(f"**{totals[f]}**" for f in TALLY_FIELDS)
               + f" | {milliseconds(restarts['median'])} (median) | {milliseconds(totals['restart_us_max'])} |")
    out += ["", "Outcomes: " + ", ".join(f"{o} {report['outcomes'].get(o, 0)}" for o in OUTCOMES), ""]
    udp, load, memory, disk = report["udp"], report["load"] or {}, report["memory"], report["disk"]
    network = report["network"] or {}
    out += ["## End-of-run checks", "", "| check | result | |", "|---|---|---|"]

    def check(what, result, ok):
        out.append(f"| {what} | {result} | {'ok' if ok else '**FAIL**'} |")
    check("QEMU exit", f"{report['qemu_status']} ({report['qemu_status_meaning']})",
          report["qemu_status"] == 0 and not report["stalled"])
    check("kernel panic", report["panic"][0] if report["panic"] else "none", not report["panic"])
    check("campaign end", report["end"] or "missing", report["end"] == "ok")
    check("faults failed", totals["failed"], totals["failed"] == 0)
    check("UDP datagrams", f"sent {udp.get('sent', 0):,}, echoed {udp.get('echoed', 0):,} "
          f"({udp.get('late', 0):,} late), lost {udp.get('lost', 0):,}, duplicated "
          f"{udp.get('duplicates', 0):,}; median round trip {udp.get('round_trip_us_median')} us",
          bool(udp.get("echoed")))
    check("corrupted datagrams delivered", udp.get("corrupted", 0), not udp.get("corrupted"))
    check("blocks", f"verified {load.get('blocks_verified', 0):,}, errors {load.get('block_errors', 0):,}, "
          f"caught {load.get('block_caught', 0):,}, lost {load.get('block_lost', 0)}",
          not load.get("block_lost") and bool(load))
    check("cross-domain calls", f"verified {load.get('calls_verified', 0):,}, errors "
          f"{load.get('call_errors', 0):,}, caught {load.get('calls_caught', 0):,}, lent arrays "
          f"lost {load.get('calls_lost', 0)}", bool(load) and not load.get("calls_lost"))
    check("network (guest)", f"received {network.get('received', 0):,} frames, sent "
          f"{network.get('sent', 0):,}, NIC driver restarts {network.get('driver_restarts', 0):,}", True)
    check("disk image", f"{disk['blocks_checked']:,} blocks checked, {disk['blocks_written']} "
          f"written by the campaign, {disk['problems']} wrong", disk["ok"])
    check("memory against the baseline",
          ", ".join(f"{k} {v}" for k, v in (memory or {}).items()) or "missing",
          memory is not None and all(v == 0 for v in memory.values()))
    out += heartbeat_table(report)
    for title, listed in (("Failed faults", report["failures"]),
                          ("Contained, not recovered (a flipped bit left the domain running "
                           "without serving; the campaign restarted it to end the trial)",
                           report.get("unrecovered", []))):
        if not listed:
            continue
        out += ["", f"## {title} (first 20, with the log lines since the fault before "
                "and up to the next)", ""]
        for failure in listed[:20]:
            state = f" (then {failure['state']}, {failure['crashes']} crashes)" if failure["state"] else ""
            out += [f"- `FAULT {failure['number']} {failure['domain']} {failure['kind']} "
                    f"{failure['point'] or '-'} {failure['outcome']}`{state}", "", "  ```"]
            out += [f"  {line}" for line in failure["context"][-8:]]
            out += [f"  > FAULT {failure['number']} ..."] + [f"  {line}" for line in failure["after"][:8]]
            out += ["  ```"]
    if report["warnings"]:
        out += ["", "Warnings: " + "; ".join(report["warnings"])]
    return "\n".join(out) + "\n"


def chart(report, path):
    """Outcomes per domain, restart times per domain, and the echo load over time with
    the faults activated each second."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("faults: matplotlib is missing, no chart (make faults installs it)", file=sys.stderr)
        return False
    domains = list(dict.fromkeys(row["domain"] for row in report["tallies"]))
    kinds = {"recovered": ("#2f855a", "recovered (crashed, restarted, serving)"),
             "caught": ("#68d391", "caught (a check caught the wrong result)"),
             "silent": ("#a0aec0", "silent (bit flip nothing noticed)"),
             "unrecovered": ("#ed8936", "caught, not recovered (bit flip)"),
             "failed": ("#c53030", "failed")}
    counts = {kind: [] for kind in kinds}
    for domain in domains:
        outcomes = collections.Counter()
        for row in report["tallies"]:
            if row["domain"] == domain:
                outcomes.update(row["outcomes"])
        counts["recovered"].append(outcomes["recovered"])
        counts["caught"].append(outcomes["caught"])
        counts["silent"].append(outcomes["silent"])
        counts["unrecovered"].append(outcomes["unrecovered"])
        counts["failed"].append(sum(v for k, v in outcomes.items() if k.startswith("failed")))
    fig, (ax1, ax2, ax3) = plt.subplots(3, 1, figsize=(11, 11),
                                        gridspec_kw={"height_ratios": [3, 2, 2]})
    left = [0] * len(domains)
    for kind, (color, label) in kinds.items():
        ax1.barh(range(len(domains)), counts[kind], left=left, color=color, label=label)
        left = [a + b for a, b in zip(left, counts[kind])]
    ax1.set_yticks(range(len(domains)), domains)
    ax1.invert_yaxis()
    ax1.set_xlabel("faults activated")
    ax1.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=4)
    ax1.set_title(f"Fault campaign, seed {report['seed']}: {report['activated']} faults activated "
                  f"in {report['campaign_s']} s, verdict {report['verdict']}")
    averages, longest = [], []
    for domain in domains:
        rows = [r for r in report["tallies"] if r["domain"] == domain and r.get("restart_us_max")]
        recovered = sum(r["outcomes"].get("recovered", 0) for r in rows)
        averages.append(sum(r["restart_us_avg"] * r["outcomes"].get("recovered", 0) for r in rows)
                        / recovered / 1000 if recovered else 0)
        longest.append(max((r["restart_us_max"] for r in rows), default=0) / 1000)
    positions = range(len(domains))
    ax2.bar([p - 0.2 for p in positions], averages, width=0.4, color="#2b6cb0", label="average")
    ax2.bar([p + 0.2 for p in positions], longest, width=0.4, color="#90cdf4", label="longest")
    ax2.set_xticks(list(positions), domains, fontsize=8)
    ax2.set_ylabel("ms, fault to running again")
    ax2.set_yscale("symlog")
    ax2.legend(fontsize=8)
    echoed = report["udp"].get("echoed_each_second", [])
    ax3.plot(range(len(echoed)), echoed, color="#2b6cb0", label="datagrams echoed per second")
    ax3.set_xlabel("seconds since the load started")
    ax3.set_ylabel("datagrams echoed / s")
    faults_per_second = collections.Counter(int(t) for t in report["fault_times_s"])
    twin = ax3.twinx()
    seconds = range(max(len(echoed), max(faults_per_second, default=0) + 1))
    twin.plot(seconds, [faults_per_second.get(s, 0) for s in seconds], color="#c05621",
              linewidth=0.8, label="faults activated per second")
    twin.set_ylabel("faults / s")
    lines = ax3.get_legend_handles_labels()
    extra = twin.get_legend_handles_labels()
    ax3.legend(lines[0] + extra[0], lines[1] + extra[1], fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def write_report(report, output, with_chart=True, name="faults"):
    """Writes NAME-latest.json, .md and (with matplotlib) .png into `output`."""
    output = pathlib.Path(output)
    output.mkdir(parents=True, exist_ok=True)
    (output / f"{name}-latest.json").write_text(json.dumps(report, indent=2) + "\n")
    (output / f"{name}-latest.md").write_text(markdown(report))
    written = [f"{name}-latest.json", f"{name}-latest.md"]
    if with_chart and chart(report, output / f"{name}-latest.png"):
        written.append(f"{name}-latest.png")
    return [output / name for name in written]


def summary(report):
    """A few lines for the terminal."""
    udp, totals = report["udp"], report["totals"]
    out = [f"faults: seed {report['seed']}: {report['activated']} faults activated in "
           f"{report['campaign_s']} s ({report['activated_per_second']}/s), boot {report['duration_s']} s, "
           f"QEMU status {report['qemu_status']}",
           "faults: outcomes: " + ", ".join(f"{o} {n}" for o, n in sorted(report["outcomes"].items())),
           f"faults: contained {totals['contained']}, recovered {totals['recovered']}, silent "
           f"{totals['silent']}, unrecovered {report['outcomes'].get('unrecovered', 0)}, failed "
           f"{totals['failed']}; restart median "
           f"{milliseconds(report['restart_us']['median'])} ms, max {milliseconds(report['restart_us']['max'])} ms",
           f"faults: UDP sent {udp.get('sent', 0)}, echoed {udp.get('echoed', 0)}, lost {udp.get('lost', 0)}, "
           f"corrupted {udp.get('corrupted', 0)}; disk {'ok' if report['disk']['ok'] else 'WRONG'}; "
           f"memory {report['memory']}"]
    for failure in report["failures"][:5]:
        out.append(f"faults: failed: FAULT {failure['number']} {failure['domain']} {failure['kind']} "
                   f"{failure['point'] or '-'} {failure['outcome']}")
        out += [f"    {line}" for line in failure["context"][-6:]]
        out += [f"    (after) {line}" for line in failure["after"][:4]]
    for warning in report["warnings"]:
        out.append(f"faults: warning: {warning}")
    out.append(f"faults: verdict {report['verdict']}"
               + ("" if report["verdict"] == "pass" else ": " + "; ".join(report["reasons"])))
    return "\n".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, help="the campaign's seed (default: a random one)")
    parser.add_argument("--count", type=int, default=10000, help="faults to activate")
    parser.add_argument("--seconds", type=int, default=600, help="at most this long")
    parser.add_argument("--net", choices=["virtio", "e1000"], default="virtio")
    parser.add_argument("--netport", type=int, default=5555)
    parser.add_argument("--rate", type=int, help="cap on datagrams sent per second")
    parser.add_argument("--output", default=str(ROOT / "bench" / "results"))
    parser.add_argument("--work", default=str(ROOT / "build" / "faults"),
                        help="where the disk image and the serial log go")
    parser.add_argument("--every", type=int, default=0,
                        help="a soak: at least this many ms from one fault to the next")
    parser.add_argument("--heartbeat", type=int, default=0,
                        help="a memory heartbeat line every this many seconds")
    parser.add_argument("--name", default="faults",
                        help="the report's files are NAME-latest.json, .md and .png")
    options = parser.parse_args()
    seed = options.seed if options.seed is not None else random_seed()
    try:
        run = CampaignRun(seed, options.count, options.seconds, options.net, options.work,
                          options.every, options.heartbeat)
        print(f"faults: seed {seed} (replay: {replay(run)})", flush=True)
        run = run_campaign(seed, options.count, options.seconds, options.net, options.work,
                           options.netport, options.rate,
                           progress=lambda line: print(line, flush=True),
                           every=options.every, heartbeat=options.heartbeat)
    except NamespaceError as error:
        sys.exit(f"faults: {error}")
    report = analyse(run)
    written = write_report(report, options.output, name=options.name)
    print(summary(report))
    print(f"faults: wrote {', '.join(str(p) for p in written)}; serial log {run.log}")
    return 0 if report["verdict"] == "pass" else 1


if __name__ == "__main__":
    sys.exit(main())
