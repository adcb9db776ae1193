#!/usr/bin/env python3
"""rftplib, ftplib and curl side by side against one vsftpd, in one run.

    python benches/bench.py                 # every workload, 1 GiB, 3 repetitions
    python benches/bench.py --quick         # smoke test: 128 MiB, 200 operations
    python benches/bench.py --tls           # add FTPS (PROT P) rows
    python benches/bench.py --only retr,noop --impl rftplib,ftplib --reps 5

Needs root and /usr/sbin/vsftpd (see tests/vsftpd.py). rftplib and ftplib run
the very same code, given the module: ``mod.FTP``, ``mod.FTP_TLS``. If rftplib
is not importable its column is left out, with a note.

The FTPS rows against vsftpd (ftps-*) are bound by vsftpd's own TLS CPU, so
every client looks alike there; the pftps-* rows run against pure-ftpd with TLS
required (``-Y 3``, see tests/pureftpd.py; unpacked beside vsftpd by .ci/run with ``apt-get download`` + ``dpkg-deb -x``),
which leaves the client's speed visible. Without pure-ftpd, ``--tls`` leaves
those rows out with a note. Their transfers are checked beyond the 226 reply:
bytes sent per pure-ftpd's transfer log on every RETR, plus an untimed sha256
RETR once per implementation; size and sha256 of every STORed file.

Implementations alternate within each repetition (in a rotating order), and the
table shows medians. The machine is shared, so besides throughput it reports
client CPU seconds per GiB (or microseconds per operation), which does not
depend on how busy the server or the other tenants are: getrusage(RUSAGE_SELF)
deltas for in-process clients, RUSAGE_CHILDREN for curl.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib
import multiprocessing
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from pureftpd import PureFtpd, pureftpd_version
from vsftpd import Vsftpd, process_cpu

MiB = 1 << 20
GiB = 1 << 30
PY_IMPLS = ("rftplib", "ftplib")
ALL_IMPLS = PY_IMPLS + ("curl",)
PARALLEL = 4
SMALL_SIZE = 1024
TIMEOUT = 120


def noop(block):
    pass


# -- measurement -------------------------------------------------------------------


@dataclass
class Run:
    wall: float  # seconds
    cpu: float  # client CPU seconds (user + sys)
    amount: int  # bytes moved, or operations done
    server_cpu: float = 0.0  # CPU seconds of the server sessions that served it


def cpu_seconds(who):
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def measure(fn, amount, who=resource.RUSAGE_SELF):
    c0, t0 = cpu_seconds(who), time.perf_counter()
    fn()
    t1, c1 = time.perf_counter(), cpu_seconds(who)
    return Run(t1 - t0, c1 - c0, amount)


class ServerCpu:
    """CPU time of the server sessions that serve one run, sampled from /proc.

    (pure-ftpd's sessions are simpler: one process each, which does the TLS,
    plus a privilege-separation helper; both are sampled the same way.)

    vsftpd's listener reaps its sessions but not all of their helpers (the TLS
    one ends up with init), so the listener's cutime undercounts; instead a
    thread reads each session process's own CPU time every few ms and keeps the
    last value seen, and in-process clients take one more sample just before
    QUIT. What a process spends between its last sample and its exit is missed
    (curl's sessions: up to one interval each). The thread's own cost (~1% of a
    core) lands in RUSAGE_SELF, equally for ftplib and rftplib.
    """

    INTERVAL = 0.01

    def __init__(self, servers):
        self.servers = list(servers)
        self.last = {}
        self.lock = threading.Lock()  # client threads sample too
        self.stopping = threading.Event()
        self.seconds = 0.0

    def sample(self):
        for srv in self.servers:
            for pid in srv.session_pids():
                cpu = process_cpu(pid)
                with self.lock:
                    if cpu is not None and cpu > self.last.get(pid, 0.0):
                        self.last[pid] = cpu

    def loop(self):
        while not self.stopping.wait(self.INTERVAL):
            self.sample()

    def __enter__(self):
        # Only sessions of this run may count, each from its start.
        for srv in self.servers:
            if not srv.wait_idle():
                raise RuntimeError(
                    f"{type(srv).__name__} sessions still running on port {srv.port}"
                )
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        self.thread.join()
        self.sample()
        self.seconds = sum(self.last.values())


# -- the environment every workload sees ----------------------------------------------


@dataclass
class Env:
    workdir: Path
    root: Path  # served by vsftpd (and pure-ftpd)
    client: Path  # where RETR-to-file writes
    size: int  # bytes for the big transfers
    ops: int
    blocksize: int | None  # None: each implementation's default (ftplib: 8192)
    servers: dict = field(default_factory=dict)  # 'plain', 'tls', 'tls-reuse', 'pftps'
    meter: ServerCpu | None = None  # the current run's, if any
    big_sha256: str = ""  # of root/big.bin

    @property
    def part(self):
        return self.size // PARALLEL

    def block_kw(self):
        return {} if self.blocksize is None else {"blocksize": self.blocksize}


@contextlib.contextmanager
def session(mod, env, server="plain"):
    """A logged-in client: the same code for ftplib and rftplib, only ``mod`` differs."""
    srv = env.servers[server]
    if srv.tls:
        ftp = mod.FTP_TLS(context=srv.client_context(), timeout=TIMEOUT)
    else:
        ftp = mod.FTP(timeout=TIMEOUT)
    try:
        ftp.connect(srv.host, srv.port)
        ftp.login(srv.user, srv.password)
        if srv.tls:
            ftp.prot_p()
        yield ftp
        if env.meter is not None:
            env.meter.sample()  # the session's CPU, before QUIT ends it
        ftp.quit()
    finally:
        ftp.close()


def check_226(resp):
    if not str(resp).startswith("226"):
        raise RuntimeError(f"transfer ended with {resp!r}")


def check_size(path, size):
    got = path.stat().st_size
    if got != size:
        raise RuntimeError(f"{path.name}: {got} bytes, expected {size}")


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(4 * MiB):
            h.update(chunk)
    return h.hexdigest()


def check_sha256(what, digest, expected):
    if digest != expected:
        raise RuntimeError(f"{what}: sha256 {digest[:16]}…, expected {expected[:16]}…")


def check_sent(srv, mark, name, size):
    """pure-ftpd's transfer log must show ``name`` sent in full since entry ``mark``."""
    deadline = time.monotonic() + 2  # the line is written around the 226 reply
    while True:
        sent = [
            t
            for t in srv.transfers()[mark:]
            if t.direction == "o" and Path(t.path).name == name
        ]
        if sent or time.monotonic() > deadline:
            break
        time.sleep(0.01)
    if len(sent) != 1 or sent[0].size != size:
        raise RuntimeError(
            f"pure-ftpd logged {[t.size for t in sent]} bytes sent of {name}, expected [{size}]"
        )


def run_curl(args, amount):
    def go():
        subprocess.run(
            ["curl", "-sS", "--fail", *args],
            check=True,
            stdout=subprocess.DEVNULL,
            timeout=TIMEOUT * 5,
        )

    return measure(go, amount, resource.RUSAGE_CHILDREN)


def curl_tls(srv):
    return ["--ssl-reqd", "-k"] if srv.tls else []


# -- workloads: one function per implementation kind -----------------------------------


def py_retr(mod, env, server="plain"):
    with session(mod, env, server) as ftp:
        resp = []
        run = measure(
            lambda: resp.append(ftp.retrbinary("RETR big.bin", noop, **env.block_kw())),
            env.size,
        )
    check_226(resp[0])
    return run


def curl_retr(env, server="plain"):
    srv = env.servers[server]
    return run_curl([*curl_tls(srv), "-o", "/dev/null", srv.url("big.bin")], env.size)


def py_retr_file(mod, env):
    dest = env.client / f"retr-{mod.__name__}.bin"
    try:
        with session(mod, env) as ftp:

            def go():
                with open(dest, "wb") as fp:
                    ftp.retrbinary("RETR big.bin", fp.write, **env.block_kw())

            run = measure(go, env.size)
        check_size(dest, env.size)
        return run
    finally:
        dest.unlink(missing_ok=True)


def curl_retr_file(env):
    srv, dest = env.servers["plain"], env.client / "retr-curl.bin"
    try:
        run = run_curl(["-o", str(dest), srv.url("big.bin")], env.size)
        check_size(dest, env.size)
        return run
    finally:
        dest.unlink(missing_ok=True)


def py_stor(mod, env, server="plain"):
    name = f"stor-{mod.__name__}.bin"
    try:
        with session(mod, env, server) as ftp:

            def go():
                with open(env.root / "big.bin", "rb") as fp:
                    ftp.storbinary(f"STOR {name}", fp, **env.block_kw())

            run = measure(go, env.size)
        check_size(env.root / name, env.size)
        return run
    finally:
        (env.root / name).unlink(missing_ok=True)


def curl_stor(env, server="plain"):
    srv = env.servers[server]
    dest = env.root / "stor-curl.bin"
    try:
        run = run_curl(
            [*curl_tls(srv), "-T", str(env.root / "big.bin"), srv.url(dest.name)],
            env.size,
        )
        check_size(dest, env.size)
        return run
    finally:
        dest.unlink(missing_ok=True)


def py_retr_logged(mod, env, server="pftps"):
    srv = env.servers[server]
    mark = len(srv.transfers())
    run = py_retr(mod, env, server)
    check_sent(srv, mark, "big.bin", env.size)
    return run


def curl_retr_logged(env, server="pftps"):
    srv = env.servers[server]
    mark = len(srv.transfers())
    run = curl_retr(env, server)
    check_sent(srv, mark, "big.bin", env.size)
    return run


def py_retr_sha256(mod, env, server="pftps"):
    """Untimed: RETR again, hashing every block, and compare with the source."""
    h = hashlib.sha256()
    with session(mod, env, server) as ftp:
        check_226(ftp.retrbinary("RETR big.bin", h.update, **env.block_kw()))
    check_sha256("RETR big.bin", h.hexdigest(), env.big_sha256)


def curl_retr_sha256(env, server="pftps"):
    srv, h = env.servers[server], hashlib.sha256()
    cmd = ["curl", "-sS", "--fail", *curl_tls(srv), "-o", "-", srv.url("big.bin")]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE) as proc:
        while chunk := proc.stdout.read(4 * MiB):
            h.update(chunk)
    if proc.wait(TIMEOUT) != 0:
        raise RuntimeError(f"curl exit code {proc.returncode}")
    check_sha256("RETR big.bin (curl)", h.hexdigest(), env.big_sha256)


def verify_retr(mod, env):
    if mod is None:
        curl_retr_sha256(env)
    else:
        py_retr_sha256(mod, env)


def py_stor_verified(mod, env, server="pftps"):
    # py_stor with a look at the stored bytes before they are deleted.
    name = f"stor-{mod.__name__}.bin"
    try:
        with session(mod, env, server) as ftp:

            def go():
                with open(env.root / "big.bin", "rb") as fp:
                    ftp.storbinary(f"STOR {name}", fp, **env.block_kw())

            run = measure(go, env.size)
        check_size(env.root / name, env.size)
        check_sha256(name, sha256_file(env.root / name), env.big_sha256)
        return run
    finally:
        (env.root / name).unlink(missing_ok=True)


def curl_stor_verified(env, server="pftps"):
    srv = env.servers[server]
    dest = env.root / "stor-curl.bin"
    try:
        run = run_curl(
            [*curl_tls(srv), "-T", str(env.root / "big.bin"), srv.url(dest.name)],
            env.size,
        )
        check_size(dest, env.size)
        check_sha256(dest.name, sha256_file(dest), env.big_sha256)
        return run
    finally:
        dest.unlink(missing_ok=True)


def py_small(mod, env):
    with session(mod, env) as ftp:

        def go():
            for _ in range(env.ops):
                check_226(ftp.retrbinary("RETR small.bin", noop))

        return measure(go, env.ops)


def curl_small(env):
    # One curl, many URLs: curl keeps the control connection between them.
    srv = env.servers["plain"]
    config = env.workdir / "curl-small.cfg"
    entry = f'url = "{srv.url("small.bin")}"\noutput = "/dev/null"\n'
    config.write_text(entry * env.ops)
    return run_curl(["-K", str(config)], env.ops)


def py_noop(mod, env):
    with session(mod, env) as ftp:

        def go():
            for _ in range(env.ops):
                ftp.voidcmd("NOOP")

        return measure(go, env.ops)


def py_threads(mod, env):
    start = threading.Barrier(PARALLEL + 1, timeout=TIMEOUT)
    errors = []

    def worker():
        try:
            with session(mod, env) as ftp:
                start.wait()
                check_226(ftp.retrbinary("RETR part.bin", noop, **env.block_kw()))
        except BaseException as e:  # noqa: BLE001  (re-raised in the main thread)
            errors.append(e)
            start.abort()

    threads = [threading.Thread(target=worker) for _ in range(PARALLEL)]
    for t in threads:
        t.start()
    try:
        start.wait()  # every worker has logged in
    except threading.BrokenBarrierError:
        pass

    def go():
        for t in threads:
            t.join()

    run = measure(go, env.part * PARALLEL)
    if errors:
        raise errors[0]
    return run


def _process_worker(modname, srv_addr, blocksize_kw, start, results):
    """One of the PARALLEL processes: log in, wait for the others, RETR, report."""
    try:
        mod = importlib.import_module(modname)
        host, port, user, password = srv_addr
        ftp = mod.FTP(timeout=TIMEOUT)
        ftp.connect(host, port)
        ftp.login(user, password)
        start.wait()
        c0, t0 = cpu_seconds(resource.RUSAGE_SELF), time.monotonic()
        resp = ftp.retrbinary("RETR part.bin", noop, **blocksize_kw)
        t1, c1 = time.monotonic(), cpu_seconds(resource.RUSAGE_SELF)
        ftp.quit()
        check_226(resp)
        results.put((t0, t1, c1 - c0, None))
    except BaseException as e:  # noqa: BLE001  (reported to the parent)
        start.abort()
        results.put((0.0, 0.0, 0.0, f"{type(e).__name__}: {e}"))


def py_processes(mod, env):
    # spawn, not fork: a fresh interpreter per worker, as separate programs would be,
    # and no fork of a process that may hold a native runtime's threads.
    ctx = multiprocessing.get_context("spawn")
    srv = env.servers["plain"]
    start, results = ctx.Barrier(PARALLEL, timeout=TIMEOUT), ctx.Queue()
    addr = (srv.host, srv.port, srv.user, srv.password)
    procs = [
        ctx.Process(
            target=_process_worker,
            args=(mod.__name__, addr, env.block_kw(), start, results),
        )
        for _ in range(PARALLEL)
    ]
    for p in procs:
        p.start()
    reports = [results.get(timeout=TIMEOUT * 2) for _ in procs]
    for p in procs:
        p.join()
    failures = [r[3] for r in reports if r[3]]
    if failures:
        raise RuntimeError(failures[0])
    # Workers time themselves from the barrier on (CLOCK_MONOTONIC is system-wide).
    wall = max(r[1] for r in reports) - min(r[0] for r in reports)
    return Run(wall, sum(r[2] for r in reports), env.part * PARALLEL)


def curl_processes(env):
    srv = env.servers["plain"]

    def go():
        procs = [
            subprocess.Popen(
                ["curl", "-sS", "--fail", "-o", "/dev/null", srv.url("part.bin")],
                stdout=subprocess.DEVNULL,
            )
            for _ in range(PARALLEL)
        ]
        codes = [p.wait(TIMEOUT * 5) for p in procs]
        if any(codes):
            raise RuntimeError(f"curl exit codes {codes}")

    return measure(go, env.part * PARALLEL, resource.RUSAGE_CHILDREN)


@dataclass
class Workload:
    name: str
    label: str  # {size} and {ops} are filled in
    unit: str  # "MB/s", or what one operation is: "files/s", "round trips/s"
    python: Callable | None
    curl: Callable | None
    tls: bool = False
    server: str = "plain"  # the key in Env.servers it runs against (started if needed)
    # Untimed check of the data, once per implementation after its first run,
    # outside the server-CPU meter: verify(mod, env), mod None for curl.
    verify: Callable | None = None


WORKLOADS = [
    Workload("retr", "RETR {size}, no-op callback", "MB/s", py_retr, curl_retr),
    Workload(
        "retr-file",
        "RETR {size} to a file (fp.write)",
        "MB/s",
        py_retr_file,
        curl_retr_file,
    ),
    Workload("stor", "STOR {size} from a file", "MB/s", py_stor, curl_stor),
    Workload(
        "small", "{ops} × RETR 1 KiB, one session", "files/s", py_small, curl_small
    ),
    Workload("noop", "{ops} × NOOP", "round trips/s", py_noop, None),
    Workload(
        "threads", "4 threads × {part}, separate connections", "MB/s", py_threads, None
    ),
    Workload("processes", "4 processes × {part}", "MB/s", py_processes, curl_processes),
    Workload(
        "ftps-retr",
        "FTPS RETR {size}, PROT P, no-op callback",
        "MB/s",
        lambda mod, env: py_retr(mod, env, "tls"),
        lambda env: curl_retr(env, "tls"),
        tls=True,
        server="tls",
    ),
    Workload(
        "ftps-stor",
        "FTPS STOR {size}, PROT P",
        "MB/s",
        lambda mod, env: py_stor(mod, env, "tls"),
        lambda env: curl_stor(env, "tls"),
        tls=True,
        server="tls",
    ),
    Workload(
        "ftps-retr-reuse",
        "FTPS RETR {size}, vsftpd require_ssl_reuse=YES",
        "MB/s",
        lambda mod, env: py_retr(mod, env, "tls-reuse"),
        lambda env: curl_retr(env, "tls-reuse"),
        tls=True,
        server="tls-reuse",
    ),
    Workload(
        "pftps-retr",
        "FTPS RETR {size}, PROT P, no-op callback, pure-ftpd -Y 3",
        "MB/s",
        py_retr_logged,
        curl_retr_logged,
        tls=True,
        server="pftps",
        verify=verify_retr,
    ),
    Workload(
        "pftps-stor",
        "FTPS STOR {size}, PROT P, pure-ftpd -Y 3",
        "MB/s",
        py_stor_verified,
        curl_stor_verified,
        tls=True,
        server="pftps",
    ),
]


# -- running and reporting -------------------------------------------------------------


def human_size(n):
    return f"{n // GiB} GiB" if n % GiB == 0 else f"{n / MiB:g} MiB"


def fmt_rate(value, unit):
    return f"{value:,.0f} {unit}"


def describe_error(e):
    text = str(e).strip().splitlines()[0] if str(e).strip() else ""
    return f"{type(e).__name__}: {text}"[:90]


def run_workload(wl, impls, modules, env, reps, log):
    results = {impl: [] for impl in impls}
    errors = {}
    for rep in range(reps):
        k = rep % len(impls)
        for impl in impls[k:] + impls[:k]:  # rotate who goes first
            if impl in errors:
                continue
            try:
                with ServerCpu(env.servers.values()) as env.meter:
                    if impl == "curl":
                        run = wl.curl(env)
                    else:
                        run = wl.python(modules[impl], env)
                run.server_cpu = env.meter.seconds
            except Exception as e:  # noqa: BLE001  (one failing implementation must not end the run)
                errors[impl] = describe_error(e)
                log(
                    f"  {wl.name:16} {impl:8} rep {rep + 1}/{reps}: FAILED {errors[impl]}"
                )
                continue
            results[impl].append(run)
            log(f"  {wl.name:16} {impl:8} rep {rep + 1}/{reps}: {summarize(wl, run)}")
            if wl.verify is not None and len(results[impl]) == 1:
                try:
                    wl.verify(modules.get(impl), env)
                except Exception as e:  # noqa: BLE001  (wrong data: its numbers do not count)
                    errors[impl] = describe_error(e)
                    results[impl].clear()
                    log(f"  {wl.name:16} {impl:8} verify: FAILED {errors[impl]}")
                    continue
                log(f"  {wl.name:16} {impl:8} verify: sha256 ok")
    return results, errors


def throughput(wl, run):
    return run.amount / run.wall / (1e6 if wl.unit == "MB/s" else 1)


def cpu_per_unit(wl, run, cpu=None):
    """Client (or given) CPU seconds per GiB, or microseconds per operation."""
    cpu = run.cpu if cpu is None else cpu
    if wl.unit == "MB/s":
        return cpu / (run.amount / GiB)
    return cpu / run.amount * 1e6


def fmt_cpu(value):
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def cpu_unit(wl):
    return "s/GiB" if wl.unit == "MB/s" else "µs/op"


def summarize(wl, run):
    return (
        f"{fmt_rate(throughput(wl, run), wl.unit)}, "
        f"CPU {fmt_cpu(cpu_per_unit(wl, run))} {cpu_unit(wl)} "
        f"(server {fmt_cpu(cpu_per_unit(wl, run, run.server_cpu))}), {run.wall:.2f} s"
    )


def table(rows, env):
    header = [
        "workload",
        "implementation",
        "throughput",
        "min–max",
        "client CPU",
        "server CPU",
        "rftplib/ftplib",
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for wl, results, errors in rows:
        label = wl.label.format(
            size=human_size(env.size), part=human_size(env.part), ops=f"{env.ops:,}"
        )
        medians = {}
        for impl, runs in results.items():
            if runs:
                medians[impl] = (
                    statistics.median(throughput(wl, r) for r in runs),
                    statistics.median(cpu_per_unit(wl, r) for r in runs),
                    statistics.median(cpu_per_unit(wl, r, r.server_cpu) for r in runs),
                )
        ratio = ""
        if "rftplib" in medians and "ftplib" in medians:
            (r_rate, r_cpu, _), (f_rate, f_cpu, _) = (
                medians["rftplib"],
                medians["ftplib"],
            )
            ratio = f"{r_rate / f_rate:.2f}× speed, {r_cpu / f_cpu:.2f}× CPU"
        elif "rftplib" in medians and "ftplib" in errors:
            ratio = "works where ftplib fails"
        for impl, runs in results.items():
            if not runs:
                lines.append(
                    f"| {label} | {impl} | fails: {errors.get(impl, '?')} | | | | |"
                )
                continue
            rate, cpu, srv_cpu = medians[impl]
            rates = [throughput(wl, r) for r in runs]
            spread = f"{min(rates):,.0f}–{max(rates):,.0f}" if len(runs) > 1 else ""
            note = f" (then failed: {errors[impl]})" if impl in errors else ""
            lines.append(
                f"| {label} | {impl} | {fmt_rate(rate, wl.unit)}{note} | {spread} "
                f"| {fmt_cpu(cpu)} {cpu_unit(wl)} | {fmt_cpu(srv_cpu)} {cpu_unit(wl)} "
                f"| {ratio if impl == 'rftplib' else ''} |"
            )
    return "\n".join(lines)


def import_impls(wanted):
    modules, notes = {}, []
    for name in wanted:
        if name == "curl":
            if shutil.which("curl") is None:
                notes.append("curl not found: its column is skipped")
            continue
        try:
            mod = importlib.import_module(name)
            mod.FTP  # noqa: B018  (a half-built package fails here, not mid-run)
            modules[name] = mod
        except Exception as e:  # noqa: BLE001  (a broken build is reported, not fatal)
            notes.append(
                f"{name} is not importable ({describe_error(e)}): its column is skipped"
            )
    impls = [
        i for i in wanted if i in modules or (i == "curl" and shutil.which("curl"))
    ]
    return impls, modules, notes


def make_file(path, size, chunk):
    """Write ``size`` bytes of ``chunk`` repeated; return their sha256."""
    h = hashlib.sha256()
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, len(chunk))
            f.write(chunk[:n])
            h.update(chunk[:n])
            left -= n
    return h.hexdigest()


def versions(modules, servers):
    out = [f"Python {platform.python_version()}"]
    for name, mod in modules.items():
        out.append(f"{name} {getattr(mod, '__version__', '(stdlib)')}")
    try:
        curl = subprocess.run(
            ["curl", "--version"], check=False, capture_output=True, text=True
        ).stdout
        out.append(" ".join(curl.split()[:2]))
    except OSError:
        pass
    try:
        if any(isinstance(s, Vsftpd) for s in servers):
            query = ["dpkg-query", "-W", "-f", "vsftpd ${Version}", "vsftpd"]
            result = subprocess.run(query, check=False, capture_output=True, text=True)
            out.append(result.stdout.strip() or "vsftpd")
    except OSError:
        pass
    if any(isinstance(s, PureFtpd) for s in servers):
        out.append(pureftpd_version())
    return ", ".join(out)


FOOTNOTES = """\
MB/s = 10^6 bytes/s. throughput: median of the repetitions; min–max: slowest and fastest.
client CPU: user+sys of the client per GiB moved (or per operation); server CPU: the same
for the vsftpd (pftps-*: pure-ftpd) sessions that served it, login included. ftplib and
rftplib are timed from after login; curl's times include its start and login (~15 ms)."""

CURL_STALL = """\
curl 7.88, given many URLs, often waits 1 s before it opens a data connection
(a client-side stall, visible with --trace-time), so its small-file rate swings."""


def parse_args(argv):
    names = [w.name for w in WORKLOADS]
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--reps", type=int, default=3, help="repetitions; the table shows medians (3)"
    )
    p.add_argument(
        "--size-mib",
        type=int,
        help="size of the big transfers in MiB (1024; --quick 128)",
    )
    p.add_argument(
        "--ops", type=int, help="operations for small RETR and NOOP (1000; --quick 200)"
    )
    p.add_argument(
        "--quick", action="store_true", help="smoke test: 128 MiB, 200 operations"
    )
    p.add_argument(
        "--blocksize",
        type=int,
        help="pass blocksize= explicitly (default: not passed, 8192)",
    )
    p.add_argument("--only", help=f"comma-separated workloads: {', '.join(names)}")
    p.add_argument(
        "--impl",
        default=",".join(ALL_IMPLS),
        help="comma-separated: rftplib,ftplib,curl",
    )
    p.add_argument(
        "--tls",
        action="store_true",
        help="add the FTPS rows (vsftpd with TLS; pure-ftpd -Y 3 if installed)",
    )
    p.add_argument(
        "--workdir", default="/dev/shm", help="where data files go (tmpfs: /dev/shm)"
    )
    p.add_argument(
        "--quiet", action="store_true", help="no per-repetition progress on stderr"
    )
    args = p.parse_args(argv)
    args.size_mib = args.size_mib or (128 if args.quick else 1024)
    args.ops = args.ops or (200 if args.quick else 1000)
    if args.size_mib % PARALLEL:
        p.error(f"--size-mib must be a multiple of {PARALLEL}")
    if args.only:
        wanted = args.only.split(",")
        unknown = set(wanted) - set(names)
        if unknown:
            p.error(
                f"unknown workload(s) {', '.join(sorted(unknown))}; choose from {', '.join(names)}"
            )
        args.workloads = [w for w in WORKLOADS if w.name in wanted]
        if any(w.tls for w in args.workloads):
            args.tls = True
    else:
        args.workloads = [w for w in WORKLOADS if args.tls or not w.tls]
    args.explicit = bool(args.only)
    args.impls = args.impl.split(",")
    bad = set(args.impls) - set(ALL_IMPLS)
    if bad:
        p.error(f"unknown implementation(s) {', '.join(sorted(bad))}")
    return args


def main(argv=None):
    args = parse_args(argv)
    log = (
        (lambda *a: None)
        if args.quiet
        else (lambda msg: print(msg, file=sys.stderr, flush=True))
    )
    impls, modules, notes = import_impls(args.impls)
    for note in notes:
        print(f"> note: {note}")
    if not impls:
        sys.exit("nothing to run")

    size = args.size_mib * MiB
    need = 3 * size + size // PARALLEL + 64 * MiB  # source, STOR and RETR copies, part
    free = shutil.disk_usage(args.workdir).free
    if free < need:
        sys.exit(
            f"{args.workdir} has {free / GiB:.1f} GiB free, {need / GiB:.1f} GiB needed (--workdir)"
        )

    workdir = Path(tempfile.mkdtemp(prefix="rftplib-bench-", dir=args.workdir))
    servers = []
    began = time.monotonic()
    try:
        env = Env(
            workdir,
            workdir / "root",
            workdir / "client",
            size,
            args.ops,
            args.blocksize,
        )
        env.root.mkdir()
        env.client.mkdir()
        chunk = os.urandom(16 * MiB)
        env.big_sha256 = make_file(env.root / "big.bin", size, chunk)
        make_file(env.root / "part.bin", env.part, chunk)
        make_file(env.root / "small.bin", SMALL_SIZE, chunk)

        def serve(key, cls, **kw):
            srv = cls(env.root, **kw)
            servers.append(srv)
            env.servers[key] = srv.start()

        # Only the servers the chosen workloads use.
        launchers = {
            "plain": (Vsftpd, {}),
            "tls": (Vsftpd, {"tls": "explicit", "require_ssl_reuse": False}),
            "tls-reuse": (Vsftpd, {"tls": "explicit", "require_ssl_reuse": True}),
            "pftps": (PureFtpd, {"tls_required": True}),
        }
        for key in dict.fromkeys(wl.server for wl in args.workloads):
            cls, kw = launchers[key]
            try:
                serve(key, cls, **kw)
            except RuntimeError as e:
                if cls is Vsftpd or args.explicit:
                    raise
                # pure-ftpd is optional under --tls: its rows go, with a note.
                print(f"> note: pure-ftpd rows skipped: {describe_error(e)}")
                args.workloads = [w for w in args.workloads if w.server != key]

        load0 = os.getloadavg()
        rows = []
        for wl in args.workloads:
            who = [
                i for i in impls if (wl.curl if i == "curl" else wl.python) is not None
            ]
            if who:
                rows.append((wl, *run_workload(wl, who, modules, env, args.reps, log)))
        load1 = os.getloadavg()
    finally:
        for srv in servers:
            srv.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    bs = f"blocksize={args.blocksize}" if args.blocksize else "default blocksize (8192)"
    print()
    names = " and ".join(
        dict.fromkeys(
            "vsftpd" if isinstance(s, Vsftpd) else "pure-ftpd" for s in servers
        )
    )
    print(
        f"{names} on 127.0.0.1, data on {args.workdir}; {bs}; median of {args.reps}; "
        f"{os.cpu_count()} CPUs, load {load0[0]:.1f} → {load1[0]:.1f}; "
        f"{time.monotonic() - began:.0f} s"
    )
    print(versions(modules, servers))
    print()
    print(table(rows, env))
    print()
    print(FOOTNOTES)
    if any(wl.name == "small" and "curl" in results for wl, results, _ in rows):
        print(CURL_STALL)


if __name__ == "__main__":
    main()
