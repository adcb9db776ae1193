#!/usr/bin/env python3
"""The drop-in retrbinary and NOOP round trips, ftplib vs rftplib, every run shown.

    python benches/bench_retr_modes.py                 # 5 alternating runs of each
    python benches/bench_retr_modes.py --reps 9 --size 512 --noops 1000

One vsftpd on 127.0.0.1 serves a file from /dev/shm; each run is
``retrbinary("RETR big.bin", count)`` with the default blocksize (8192) and a
callback that only counts bytes, timed in process (wall clock, and this
thread's CPU via RUSAGE_THREAD). ftplib and rftplib alternate, in a rotating
order, on fresh sessions. The table lists every run, not only the median: the
point is to see whether any run of rftplib falls below ftplib's (a "slow
mode"). Then ``--noops`` × NOOP on one session, alternating the same way.
"""

from __future__ import annotations

import argparse
import ftplib
import os
import resource
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

import rftplib
from vsftpd import Vsftpd

MiB = 1 << 20
GiB = 1 << 30
IMPLS = {"ftplib": ftplib, "rftplib": rftplib}


def thread_cpu():
    u = resource.getrusage(resource.RUSAGE_THREAD)
    return u.ru_utime + u.ru_stime


def thread_switches():
    """Voluntary context switches of this thread so far: each is one sleep in recv."""
    with open(f"/proc/self/task/{threading.get_native_id()}/status") as f:
        for line in f:
            if line.startswith("voluntary_ctxt_switches"):
                return int(line.split()[1])
    return 0


def sched(path):
    """(migrations, voluntary, involuntary switches, CPU seconds) from a sched file."""
    fields = {}
    try:
        with open(path) as f:
            for line in f:
                key, _, value = line.partition(":")
                fields[key.strip()] = value.strip()
    except OSError:
        return (0, 0, 0, 0.0)
    return (
        int(fields.get("se.nr_migrations", 0)),
        int(fields.get("nr_voluntary_switches", 0)),
        int(fields.get("nr_involuntary_switches", 0)),
        float(fields.get("se.sum_exec_runtime", 0)) / 1000,
    )


def server_sched(srv):
    totals = [0, 0, 0, 0.0]
    for pid in srv.session_pids():
        for i, v in enumerate(sched(f"/proc/{pid}/sched")):
            totals[i] += v
    return totals


def login(mod, srv):
    ftp = mod.FTP(timeout=60)
    ftp.connect(srv.host, srv.port)
    ftp.login(srv.user, srv.password)
    return ftp


def retr_once(mod, srv, size, diag=False):
    ftp = login(mod, srv)
    me = f"/proc/self/task/{threading.get_native_id()}/sched"
    got = 0

    def count(block):
        nonlocal got
        got += len(block)

    try:
        d0, v0 = sched(me), server_sched(srv)
        s0, c0, t0 = thread_switches(), thread_cpu(), time.perf_counter()
        resp = ftp.retrbinary("RETR big.bin", count)
        t1, c1, s1 = time.perf_counter(), thread_cpu(), thread_switches()
        d1, v1 = sched(me), server_sched(srv)
        if diag:
            c = [b - a for a, b in zip(d0, d1)]
            v = [b - a for a, b in zip(v0, v1)]
            print(f"    {mod.__name__:8} {size / (t1 - t0) / 1e9:5.2f} GB/s  client: migr {c[0]:4} vol {c[1]:6} invol {c[2]:5} "
                  f"cpu {c[3]:.3f}s | server: migr {v[0]:4} vol {v[1]:6} invol {v[2]:5} cpu {v[3]:.3f}s")
        ftp.quit()
    finally:
        ftp.close()
    if got != size or not resp.startswith("226"):
        raise RuntimeError(f"{mod.__name__}: {got} bytes, {resp!r}")
    return size / (t1 - t0), (c1 - c0) / (size / GiB), (s1 - s0) / (size / MiB)


def noop_once(mod, srv, n):
    ftp = login(mod, srv)
    try:
        c0, t0 = thread_cpu(), time.perf_counter()
        for _ in range(n):
            ftp.voidcmd("NOOP")
        t1, c1 = time.perf_counter(), thread_cpu()
        ftp.quit()
    finally:
        ftp.close()
    return n / (t1 - t0), (c1 - c0) / n


PLACEMENTS = {
    # client CPUs, server CPUs (the listener; each session inherits it at fork)
    "free": (None, None),
    "same": ({0}, {0}),
    "split": ({0}, {1}),
}


def place(srv, placement):
    """Pins this thread and vsftpd's listener as ``placement`` says (or unpins)."""
    every = set(range(os.cpu_count() or 1))
    client, server = PLACEMENTS[placement]
    os.sched_setaffinity(srv._proc.pid, server or every)
    os.sched_setaffinity(0, client or every)


def settle(srv):
    srv.wait_idle()
    time.sleep(0.2)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--size", type=int, default=512, help="MiB (default 512)")
    p.add_argument("--noops", type=int, default=1000, help="0 skips the NOOP rows")
    p.add_argument("--diag", action="store_true", help="per run: migrations, context switches, CPU of client and server")
    p.add_argument(
        "--placement",
        default="free",
        help="comma-separated: free (the scheduler decides), same (client and server pinned "
        "to CPU 0), split (client on CPU 0, server on CPU 1); each is a separate table",
    )
    p.add_argument("--only", choices=["retr", "noop"], default=None)
    args = p.parse_args(argv)
    size = args.size * MiB
    names = list(IMPLS)
    with tempfile.TemporaryDirectory(dir="/dev/shm", prefix="retrmodes-") as tmp:
        root = Path(tmp)
        block = os.urandom(MiB)
        with open(root / "big.bin", "wb") as f:
            f.writelines(block for _ in range(args.size))
        with Vsftpd(root) as srv:
            print(f"vsftpd on {srv.host}:{srv.port}; {os.cpu_count()} CPUs; load {os.getloadavg()[0]:.1f}")
            for placement in args.placement.split(","):
                place(srv, placement)
                if placement != "free":
                    print(f"\n== placement {placement}: client CPUs {PLACEMENTS[placement][0]}, server CPUs {PLACEMENTS[placement][1]}")
                run_tables(args, srv, size, names)
            place(srv, "free")
    return 0


def run_tables(args, srv, size, names):
    if args.only in (None, "retr"):
        runs = {n: [] for n in names}
        for rep in range(args.reps):
            order = names[rep % 2 :] + names[: rep % 2]
            for name in order:
                settle(srv)
                runs[name].append(retr_once(IMPLS[name], srv, size, args.diag))
        print(f"\nretrbinary {args.size} MiB, blocksize 8192, counting callback (GB/s; CPU s/GiB)")
        for name in names:
            rates = [r / 1e9 for r, _, _ in runs[name]]
            cpus = [c for _, c, _ in runs[name]]
            sleeps = "  ".join(f"{w:5.1f}" for _, _, w in runs[name])
            each = "  ".join(f"{r:5.2f}" for r in rates)
            print(f"  {name:8} runs {each} | median {statistics.median(rates):5.2f} "
                  f"min {min(rates):5.2f} | CPU {statistics.median(cpus):.3f} s/GiB")
            print(f"  {'':8} sleeps/MiB {sleeps}")
        ratios = [a[0] / b[0] for a, b in zip(runs["rftplib"], runs["ftplib"])]
        print(f"  rftplib/ftplib per pair: {'  '.join(f'{x:.2f}' for x in ratios)}"
              f" | min rftplib / max ftplib {min(r[0] for r in runs['rftplib']) / max(r[0] for r in runs['ftplib']):.2f}")
    if args.noops and args.only in (None, "noop"):
        runs = {n: [] for n in names}
        for rep in range(args.reps):
            order = names[rep % 2 :] + names[: rep % 2]
            for name in order:
                settle(srv)
                runs[name].append(noop_once(IMPLS[name], srv, args.noops))
        print(f"\n{args.noops} x NOOP on one session (round trips/s; client CPU µs each)")
        for name in names:
            rates = [r for r, _ in runs[name]]
            cpus = [c * 1e6 for _, c in runs[name]]
            each = "  ".join(f"{r:6.0f}" for r in rates)
            print(f"  {name:8} runs {each} | median {statistics.median(rates):6.0f} | CPU {statistics.median(cpus):.1f} µs")
        ratio = statistics.median(r for r, _ in runs["rftplib"]) / statistics.median(r for r, _ in runs["ftplib"])
        print(f"  rftplib/ftplib median ratio {ratio:.2f}")


if __name__ == "__main__":
    sys.exit(main())
