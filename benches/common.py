"""What the side-by-side benchmarks share: measuring clients, hygiene, tables.

Subprocess clients (curl, lftp, rclone) are timed from spawn to exit and
their CPU read from ``os.wait4``; in-process clients (ftplib, rftplib) are
timed around the call with ``getrusage(RUSAGE_SELF)`` (which includes the
threads rftplib's engine starts; nothing else runs in the benchmark process:
the WAN relay lives in a process of its own).
"""

from __future__ import annotations

import contextlib
import ftplib
import hashlib
import multiprocessing
import os
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "benches"))

MiB = 1 << 20
GiB = 1 << 30
SUBPROCESS_TIMEOUT = 900


class ClientFailed(Exception):
    """A client exited non-zero, produced wrong bytes, or raised."""


@dataclass
class Run:
    wall: float
    cpu: float
    amount: float  # bytes, files or operations


@dataclass
class Row:
    workload: str
    client: str
    unit: str  # "MB/s", "files/s", "ops/s"
    runs: list = field(default_factory=list)
    failures: list = field(default_factory=list)
    extra: dict = field(default_factory=dict)  # e.g. commands per file

    def rates(self):
        return [r.amount / r.wall / (1e6 if self.unit == "MB/s" else 1) for r in self.runs]

    def median(self):
        return statistics.median(self.rates()) if self.runs else None

    def cpu_per(self):
        """CPU seconds per GiB (MB/s rows) or microseconds per file/op."""
        if not self.runs:
            return None
        if self.unit == "MB/s":
            return statistics.median(r.cpu / (r.amount / GiB) for r in self.runs)
        return statistics.median(r.cpu / r.amount * 1e6 for r in self.runs)


def self_cpu():
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


def measure(fn, amount):
    """Runs ``fn()`` in this process: wall time and this process's CPU."""
    c0, t0 = self_cpu(), time.perf_counter()
    fn()
    t1, c1 = time.perf_counter(), self_cpu()
    return Run(t1 - t0, c1 - c0, amount)


def run_command(argv, amount, *, env=None, cwd=None):
    """Runs a client program: wall time, and its CPU from wait4 (children included)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=cwd,
        start_new_session=True,
    )
    deadline = time.monotonic() + SUBPROCESS_TIMEOUT
    out = b""
    os.set_blocking(proc.stdout.fileno(), False)
    while True:
        pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
        with contextlib.suppress(BlockingIOError, TypeError):
            out += proc.stdout.read() or b""
        if pid:
            break
        if time.monotonic() > deadline:
            os.killpg(proc.pid, 9)
            os.wait4(proc.pid, 0)
            raise ClientFailed(f"{argv[0]} timed out")
        time.sleep(0.002)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    with contextlib.suppress(BlockingIOError, TypeError, ValueError):
        out += proc.stdout.read() or b""
    proc.stdout.close()
    if proc.returncode != 0:
        tail = out.decode(errors="replace").strip().splitlines()[-3:]
        raise ClientFailed(f"{Path(argv[0]).name} exit {proc.returncode}: {' | '.join(tail)}")
    return Run(wall, ru.ru_utime + ru.ru_stime, amount)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(4 * MiB):
            h.update(chunk)
    return h.hexdigest()


def check_file(path, digest):
    path = Path(path)
    if not path.exists():
        raise ClientFailed(f"{path.name} missing")
    got = sha256_file(path)
    if got != digest:
        raise ClientFailed(f"WRONG BYTES: {path.name} {path.stat().st_size} bytes, sha256 {got[:12]}")


def make_file(path, size, seed=0):
    """A file of ``size`` bytes of incompressible data (a repeated random MiB); its sha256."""
    import random

    rnd = random.Random(seed)
    block = rnd.randbytes(MiB)
    h = hashlib.sha256()
    with open(path, "wb") as f:
        left = size
        while left:
            piece = block[: min(left, MiB)]
            f.write(piece)
            h.update(piece)
            left -= len(piece)
    return h.hexdigest()


def touch_memory(nbytes):
    """Fault in and free ``nbytes`` of memory, so that the next run's writes into
    /dev/shm do not pay for pages the VM handed back to its host."""
    if nbytes <= 0:
        return
    buf = bytearray(nbytes)
    buf[:: 4096] = b"\x01" * len(range(0, nbytes, 4096))
    del buf


def rotate(items, rep):
    k = rep % len(items) if items else 0
    return items[k:] + items[:k]


def quiet_pause(seconds=0.3):
    time.sleep(seconds)


# -- the WAN relay in a process of its own ----------------------------------------


def _relay_main(server, rtt, cap, conn, data_ports=None):
    from wanrelay import WanRelay

    with WanRelay(server, rtt=rtt, cap=cap, data_ports=data_ports) as relay:
        conn.send(relay.port)
        while True:
            msg = conn.recv()
            if msg == "stop":
                return
            if msg == "counts":
                conn.send((dict(relay.commands), relay.connections))
            elif msg == "reset":
                relay.reset_counts()
                conn.send(True)


class RelayProcess:
    """benches/wanrelay.py's WanRelay in a child process (so that its CPU is
    not counted as the in-process clients'). ``port``, ``counts()``, ``reset()``."""

    def __init__(self, server, rtt, cap=None, data_ports=None):
        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_relay_main, args=(server, rtt, cap, child, data_ports), daemon=True)
        self.rtt = rtt
        self.cap = cap

    def __enter__(self):
        self.proc.start()
        if not self.conn.poll(30):
            raise RuntimeError("the WAN relay did not start")
        self.port = self.conn.recv()
        return self

    def counts(self):
        self.conn.send("counts")
        return self.conn.recv()

    def reset(self):
        self.conn.send("reset")
        self.conn.recv()

    def __exit__(self, *exc):
        with contextlib.suppress(OSError, BrokenPipeError):
            self.conn.send("stop")
        self.proc.join(5)
        if self.proc.is_alive():
            self.proc.kill()


# -- table ----------------------------------------------------------------------------


def all_errors():
    """ftplib's all_errors, plus rftplib's when it is importable: what a
    client in a benchmark may raise for a network or server fault."""
    errs = tuple(ftplib.all_errors)
    try:
        import rftplib
    except ImportError:
        return errs
    return errs + tuple(rftplib.all_errors)


def describe(e):
    """A failure as one short table note."""
    return f"{type(e).__name__}: {e}"[:200]


def fmt_rate(x, unit):
    if x is None:
        return "-"
    if unit == "MB/s":
        return f"{x:,.1f}" if x < 100 else f"{x:,.0f}"
    return f"{x:,.1f}" if x < 100 else f"{x:,.0f}"


def print_table(rows, reference, title, extra_cols=()):
    """``reference``: {workload: client name the ratio is taken against}."""
    print(f"\n{title}\n")
    header = ["workload", "client", "rate (median)", "min–max", "client CPU", "ratio", "runs"]
    header[5:5] = [c for c, _ in extra_cols]
    lines = [header]
    refs = {}
    for row in rows:
        if row.client == reference.get(row.workload):
            refs[row.workload] = row.median()
    for row in rows:
        rates = row.rates()
        med = row.median()
        cpu = row.cpu_per()
        if cpu is None:
            cpu_s = "-"
        elif row.unit == "MB/s":
            cpu_s = f"{cpu:.2f} s/GiB"
        else:
            cpu_s = f"{cpu:,.0f} µs/{'file' if row.unit == 'files/s' else 'op'}"
        ref = refs.get(row.workload)
        ratio = f"{med / ref:.2f}×" if med and ref else "-"
        ok = f"{len(row.runs)}/{len(row.runs) + len(row.failures)}"
        line = [
            row.workload,
            row.client,
            f"{fmt_rate(med, row.unit)} {row.unit}" if med else "FAILED" if row.failures else "n/a",
            f"{fmt_rate(min(rates), row.unit)}–{fmt_rate(max(rates), row.unit)}" if rates else "-",
            cpu_s,
            ratio,
            ok,
        ]
        line[5:5] = [fn(row) for _, fn in extra_cols]
        lines.append(line)
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(header))]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for line in lines[1:]:
        print("| " + " | ".join(str(c).ljust(w) for c, w in zip(line, widths)) + " |")
    failed = [(r, f) for r in rows for f in r.failures]
    if failed:
        print("\nfailures:")
        for row, f in failed:
            print(f"  {row.workload} / {row.client}: {f}")


def machine_line():
    import platform

    load = os.getloadavg()
    return (
        f"{platform.node()} · {os.cpu_count()} CPUs · {platform.python_implementation()} "
        f"{platform.python_version()} · load {load[0]:.1f} · {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
    )


def tool_versions():
    out = {}
    for name, argv in (
        ("curl", ["curl", "--version"]),
        ("lftp", ["lftp", "--version"]),
        ("rclone", ["rclone", "version"]),
        ("vsftpd", ["dpkg-query", "-W", "-f", "vsftpd ${Version}", "vsftpd"]),
    ):
        try:
            res = subprocess.run(argv, check=False, capture_output=True, text=True, timeout=10, stdin=subprocess.DEVNULL)
            text = (res.stdout or res.stderr).strip().splitlines()
            out[name] = text[0] if text else "?"
        except (OSError, subprocess.TimeoutExpired):
            out[name] = "missing"
    return out


def rclone_remote(host, port, user, password):
    obscured = subprocess.run(
        ["rclone", "obscure", password], capture_output=True, text=True, check=True
    ).stdout.strip()
    return f":ftp,host={host},port={port},user={user},pass={obscured}:"
