#!/usr/bin/python3
"""Random SIGKILL runs (issue 17, "Faults, at scale"): kill the pod's process at a random moment,
then rerun it as the kubelet would, and count what must never happen.

Each run picks a scenario (round robin), starts the real binary on fresh volumes, starts its client
(curl for uploads, nginx / docker-registry as origins for the importer), sends SIGKILL to the
binary's process after a random delay in [0, 1.1 x the scenario's calibrated duration], and then:
  - false success: the killed run exited 0, or its termination message says "Complete", while the
    target differs from the reference (the one thing the controller cannot detect);
  - orphan: a qemu-img started by the killed run still alive 2 s later (PDEATHSIG must end it);
  - rerun: a fresh process on the same volumes (the termination log removed, as a new container
    gets a new one) must exit 0 with "Complete", the target must equal the reference, and the
    scratch volume must be empty afterwards.
Counts per scenario go to stdout as a markdown table; every anomaly is logged with its run's folder
kept for inspection (other runs' folders are removed). Exit status 1 when any anomaly was seen.

Usage: faults/sigkill_runs.py [--runs N] [--build DIR] [--size BYTES] [--work DIR] [--seed S]
       [--only scenario,...]
Needs root (loop devices are not used, but the upload server's volumes mimic the pod's), curl,
nginx, qemu-img, xz, gzip, openssl; docker-registry and skopeo for the registry scenario (skipped
with a reason when missing); python3-snappy and python3-crc32c for the clone scenario.
"""
import argparse
import os
import random
import shutil
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fault_peers  # noqa: E402  (the processes, origins and inputs: faults/fault_peers.py)

REPO = Path(__file__).resolve().parent.parent


def qemu_img_children(d: Path):
    """qemu-img processes whose command line names a path under d."""
    found = []
    needle = str(d).encode()
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            cmd = (p / "cmdline").read_bytes()
        except OSError:
            continue
        if b"qemu-img" in cmd.split(b"\0")[0] and needle in cmd:
            found.append(int(p.name))
    return found


def one_run(scn, d: Path, delay, tally, log):
    d.mkdir(parents=True)
    (d / "data").mkdir()
    (d / "scratch").mkdir()
    anomaly = False
    run = scn.start(d)
    code, killed = run.kill_after(delay)
    tally.add(scn.name, "runs")
    tally.add(scn.name, "killed" if killed else "finished_first")
    msg = fault_peers.termination_message(d)
    if code == 0 or "Complete" in msg:
        if not scn.target_matches(d):
            tally.add(scn.name, "false_success")
            log(f"FALSE SUCCESS {scn.name} in {d}: exit {code}, message {msg!r}")
            anomaly = True
    for _ in range(40):
        if not qemu_img_children(d):
            break
        time.sleep(0.05)
    orphans = qemu_img_children(d)
    if orphans:
        tally.add(scn.name, "orphans", len(orphans))
        log(f"ORPHAN qemu-img {orphans} after {scn.name} in {d}")
        anomaly = True
        for pid in orphans:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    # The rerun: a new container on the same volumes.
    (d / "termination-log").unlink(missing_ok=True)
    rerun = scn.start(d)
    rcode = rerun.wait(timeout=max(60.0, scn.duration * 20))
    rmsg = fault_peers.termination_message(d)
    if rcode == "hung":
        tally.add(scn.name, "hangs")
        log(f"HANG on rerun of {scn.name} in {d}")
        anomaly = True
    elif rcode != 0 or "Complete" not in rmsg or not scn.target_matches(d):
        tally.add(scn.name, "rerun_failed")
        log(f"RERUN FAILED {scn.name} in {d}: exit {rcode}, message {rmsg!r}")
        anomaly = True
    if not fault_peers.scratch_empty(d):
        tally.add(scn.name, "scratch_left")
        log(f"SCRATCH LEFT after {scn.name} in {d}: {sorted(p.name for p in (d / 'scratch').iterdir())}")
        anomaly = True
    if not anomaly:
        shutil.rmtree(d, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    fault_peers.run_args(ap, runs=60, size=128 << 20)
    args = ap.parse_args()

    rng = random.Random(args.seed)
    work = Path(args.work)
    shutil.rmtree(work / "runs", ignore_errors=True)
    (work / "runs").mkdir(parents=True, exist_ok=True)
    log = fault_peers.anomaly_log(work / "anomalies.log")

    with fault_peers.Peers(work, Path(args.build), args.size, log) as peers:
        scenarios = fault_peers.chosen(peers, args.only)
        fault_peers.calibrate(scenarios, work / "runs", lambda scn, r: r.wait(timeout=600), log)
        tally = fault_peers.Tally(["runs", "killed", "finished_first", "false_success", "orphans", "rerun_failed",
                                    "scratch_left", "hangs"], ["false_success", "orphans", "rerun_failed", "scratch_left", "hangs"])

        def one(i, scn):
            one_run(scn, work / "runs" / f"{i:05d}-{scn.name}", rng.uniform(0, scn.duration * 1.1), tally, log)
        fault_peers.run_rounds(scenarios, args.runs, args.seed, tally, log, one, every=50)
    fault_peers.report(tally)


if __name__ == "__main__":
    fault_peers.run_script(main)
