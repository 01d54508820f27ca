#!/usr/bin/python3
"""ENOSPC at random points (issue 17, "Faults, at scale"): the target or scratch volume, a real small
ext4 filesystem on a loop device, fills up at a random moment of a real run, and the outcome is checked.

Why filled mid-run rather than made too small: every path checks the volume's free space against the
image's size before it writes (CDI's capacity rules), so a volume too small from the start is refused
up front and never reaches a write. What does reach a write is a volume that another writer fills
while we run: thin-provisioned storage overcommitted, a shared filesystem. So each run starts the
scenario on two fresh ext4 volumes (data and scratch, each 3 x the disk size), and after a delay drawn
from [0, 1.1 x the scenario's calibrated time] takes all free space of one of them (chosen at random)
with a preallocated filler file. Then:
  - success (exit 0 and "Complete"; for uploads also the 200): the target must equal the reference,
    else a false success;
  - failure: the cause must be classed as space (E_NO_SPACE, or CDI's capacity or scratch words), else
    "unclassified"; an importer must exit 1; no disk.img may be left (no extracted entry for archives);
  - either way: the scratch volume empty at the end, and no hang (20 x the calibrated time, >= 60 s);
  - never "scratchSpaceRequired": the scratch volume is mounted, only full (CDI's controller would
    re-create the pod with the same volume, forever).
A failed upload leaves the server waiting for the client's retry, as CDI's does: after the client
has its answer the server gets 10 s to exit on its own, then SIGTERM (not counted as a hang).
Counts per scenario go to stdout as a markdown table; each anomaly is logged in <work>/anomalies.log
with its run's folder kept (logs and listings; the volumes are unmounted). Exit status 1 on any.

Usage: faults/enospc_runs.py [--runs N] [--build DIR] [--size BYTES] [--work DIR] [--seed S] [--only a,b]
Needs root (mount), mkfs.ext4, and what faults/sigkill_runs.py needs.
"""
import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fault_peers  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
FILLER = ".enospc-filler"
KEYS = ["runs", "filled_in_flight", "finished_first", "succeeded", "failed_no_space", "false_success", "scratch_requested",
        "unclassified", "bad_exit", "target_left", "scratch_left", "hangs"]
ANOMALIES = ["false_success", "scratch_requested", "unclassified", "bad_exit", "target_left", "scratch_left", "hangs"]
SPACE_WORDS = ("E_NO_SPACE", "no space", "scratch space", "larger than the reported available", "insufficient space")


def mount_volume(img: Path, mnt: Path, size: int):
    with open(img, "wb") as f:
        f.truncate(size)
    fault_peers.sh(f"mkfs.ext4 -q -F -O ^has_journal -m 0 '{img}'")
    mnt.mkdir(parents=True, exist_ok=True)
    fault_peers.sh(f"mount -o loop '{img}' '{mnt}'")
    (mnt / "lost+found").rmdir()  # a fresh PVC as the pod sees it: tests compare trees


def unmount(mnt: Path):
    if subprocess.run(["umount", str(mnt)], stderr=subprocess.DEVNULL).returncode != 0:
        subprocess.run(["umount", "-l", str(mnt)], stderr=subprocess.DEVNULL)


def fill(vol: Path):
    """Takes (nearly) all free space of vol: fallocate in halving steps down to one block."""
    st = os.statvfs(vol)
    chunk, off = st.f_bavail * st.f_frsize, 0
    fd = os.open(vol / FILLER, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while chunk >= 4096:
            try:
                os.posix_fallocate(fd, off, chunk)
                off += chunk
            except OSError:
                chunk //= 2
    finally:
        os.close(fd)


def entries(vol: Path):
    return sorted(p.name for p in vol.iterdir() if p.name != FILLER)


def read(p: Path) -> str:
    try:
        return p.read_text(errors="replace")
    except FileNotFoundError:
        return ""


def finish(scn, run, timeout):
    """Waits for the run's end as the scenario defines it: the exit code, or "hung"."""
    if not scn.upload:
        return run.wait(timeout=timeout)
    try:
        if run.client is not None:
            run.client.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        run.proc.kill()
        run.wait(timeout=10)
        return "hung"
    try:
        code = run.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:  # waiting for a retry, as after any failed upload
        run.proc.send_signal(signal.SIGTERM)
        try:
            code = run.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            run.proc.kill()
            run.wait(timeout=10)
            return "hung"
    run.wait(timeout=10)
    return code


def one_run(scn, d: Path, delay, which, size, tally, log):
    d.mkdir(parents=True)
    vols = {v: d / v for v in ("data", "scratch")}
    for v, mnt in vols.items():
        mount_volume(d / f"{v}.ext4", mnt, 3 * size)
    problems = []
    try:
        run = scn.start(d)
        tally.add(scn.name, "runs")
        deadline = run.started + delay
        while time.monotonic() < deadline and run.proc.poll() is None:
            time.sleep(0.005)
        in_flight = run.proc.poll() is None
        fill(vols[which])
        tally.add(scn.name, "filled_in_flight" if in_flight else "finished_first")
        code = finish(scn, run, max(60.0, scn.duration * 20))
        msg = fault_peers.termination_message(d)
        answer = read(d / "response.code").strip()
        evidence = msg + "\n" + read(d / "response.body")
        (vols["data"] / FILLER).unlink(missing_ok=True)
        (vols["scratch"] / FILLER).unlink(missing_ok=True)
        if code == "hung":
            problems.append("hangs")
        elif '"scratchSpaceRequired":true' in msg:  # asks for the scratch volume it already has
            problems.append("scratch_requested")
        elif code == 0 and "Complete" in msg and (not scn.upload or answer == "200"):
            if scn.target_matches(d):
                tally.add(scn.name, "succeeded")
            else:
                problems.append("false_success")
        elif "Complete" in msg and not scn.target_matches(d):
            problems.append("false_success")
        else:
            if any(w in evidence for w in SPACE_WORDS):
                tally.add(scn.name, "failed_no_space")
            else:
                problems.append("unclassified")
            if not scn.upload and code != 1:
                problems.append("bad_exit")
            if entries(vols["data"]):
                problems.append("target_left")
        if entries(vols["scratch"]):
            problems.append("scratch_left")
        for p in problems:
            tally.add(scn.name, p)
        if problems:
            log(f"{' '.join(problems).upper()} {scn.name} ({which} filled after {delay:.2f} s) in {d}: exit {code}, "
                f"answer {answer!r}, message {msg.strip()[:300]!r}, data {entries(vols['data'])}, scratch {entries(vols['scratch'])}")
            (d / "listing.txt").write_text(f"data: {entries(vols['data'])}\nscratch: {entries(vols['scratch'])}\n")
    finally:
        for mnt in vols.values():
            unmount(mnt)
        for v in vols:
            (d / f"{v}.ext4").unlink(missing_ok=True)
    if not problems:
        shutil.rmtree(d, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    fault_peers.run_args(ap, runs=70, size=64 << 20)
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root: every run mounts two loop filesystems")

    rng = random.Random(args.seed)
    work = Path(args.work)
    runs = work / "enospc-runs"
    shutil.rmtree(runs, ignore_errors=True)
    runs.mkdir(parents=True)
    log = fault_peers.anomaly_log(work / "enospc-anomalies.log")

    with fault_peers.Peers(work, Path(args.build), args.size, log) as peers:
        scenarios = fault_peers.chosen(peers, args.only)
        fault_peers.calibrate(scenarios, runs, lambda scn, r: finish(scn, r, 600), log)
        tally = fault_peers.Tally(KEYS, ANOMALIES)

        def one(i, scn):
            one_run(scn, runs / f"{i:05d}-{scn.name}", rng.uniform(0, scn.duration * 1.1), rng.choice(["data", "scratch"]),
                    args.size, tally, log)
        fault_peers.run_rounds(scenarios, args.runs, args.seed, tally, log, one, every=25)
    fault_peers.report(tally)


if __name__ == "__main__":
    fault_peers.run_script(main)
