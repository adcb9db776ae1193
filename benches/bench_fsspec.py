#!/usr/bin/env python3
"""rftp:// (rftplib.fsspec) against fsspec's own ftp:// on the same servers, in one run.

    python benches/bench_fsspec.py --setups pyftpdlib,vsftpd --reps 5   # loopback
    python benches/bench_fsspec.py                  # and vsftpd at 20 ms RTT
    python benches/bench_fsspec.py --quick          # smaller sizes, a smoke test
    python benches/bench_fsspec.py --count          # + FTP commands per file/read

Needs root and /usr/sbin/vsftpd (tests/vsftpd.py), pyftpdlib, fsspec, and
rftplib built (``maturin develop --release`` for figures worth quoting).
The WAN rows go through benches/wanrelay.py (a subprocess) in front of vsftpd.

Workloads, each the same fsspec call on both filesystems:
  cat 200 files    ``fs.cat([200 paths of 256 KiB])`` on one instance
  cat 8 threads    8 threads ``cat_file`` their share; fsspec's FTP gets one
                   instance per thread (one of its instances is not safe to
                   share), rftp one shared instance with its default pool
  random reads     one open file: ``seek`` + ``read(64 KiB)`` at random offsets in 1 GiB
  cat_ranges       the same offsets in one ``cat_ranges`` call
  sequential read  ``open().read(4 MiB)`` to the end of the 1 GiB file; the length
                   is checked, and every 8th block kept and compared with the file
                   after the clock stops (a CRC-32 of every block, at ~4 GB/s, had
                   cost both clients a quarter of a second per GiB inside the timed
                   loop, as much as rftp's reads themselves; a sha256 four times that)
  get tree         ``fs.get(tree, local, recursive=True)``, 2,000 files of 8 KiB in 20 dirs,
                   written to /dev/shm

Besides the two filesystems, a third column, "floor" (benches/fsspec_floor.py),
is the least work a client can make the server do for the same workload (per
file PASV + RETR only, bytes received into one buffer and dropped, NLST for
listings, as many sessions as rftp:// uses): what the server allows at all.
Where floor / ftp:// is under 1.5, no client reaches 1.5x on that row.

Clients alternate (in a rotating order) within each repetition; the table gives
medians of ``--reps`` with min–max, the client's CPU (getrusage of this
process, threads included) and the server's (its session processes, from /proc)
per unit. Every figure is a rate (higher is better). Both log in before the
clock starts: fsspec's instances, every session of rftp's pool (as in steady
use), and the floor's sessions. Through the relay the counts are smaller (a
tenth of the reads, a quarter of the sequential bytes, a tenth of the tree) so
that fsspec's rows end in time.

``--count`` runs every cell once more through benches/wanrelay.py without delay
and gives the FTP commands each client sends per file (per read).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "benches"))

from common import Row, Run, machine_line, print_table, rotate, self_cpu
from fsspec_floor import Floor
from fsspec_net import CountingRelay, Relay, calm_ports
from servers import PyftpdlibProcess
from vsftpd import Vsftpd, process_cpu

KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30
FLOOR = "floor"


def make_data(root, big_size, tree_dirs, tree_files):
    rng = random.Random(1)
    (root / "small").mkdir(parents=True)
    for i in range(200):
        (root / "small" / f"f{i:03d}.bin").write_bytes(rng.randbytes(256 * KiB))
    block = os.urandom(16 * MiB)
    with open(root / "big.bin", "wb") as f:
        left, n = big_size, 0
        while left:
            piece = block[n % 7 :][: min(left, 16 * MiB - 7)]  # no two blocks alike
            f.write(piece)
            left -= len(piece)
            n += 1
    for d in range(tree_dirs):
        folder = root / "tree" / f"d{d:02d}"
        folder.mkdir(parents=True)
        for j in range(tree_files):
            (folder / f"f{j:03d}.bin").write_bytes(rng.randbytes(8 * KiB))
    root.chmod(0o755)


def fsspec_ftp(host, port, user, password, **_):
    from fsspec.implementations.ftp import FTPFileSystem

    return FTPFileSystem(host, port, user, password, timeout=15, skip_instance_cache=True)


def rftp(host, port, user, password, connections=None):
    from rftplib.fsspec import FTPFileSystem

    kw = {} if connections is None else {"connections": connections}
    return FTPFileSystem(host, port, user, password, timeout=15, skip_instance_cache=True, **kw)


CLIENTS = {"ftp://": fsspec_ftp, "rftp://": rftp}
ALL = ["ftp://", "rftp://", FLOOR]


class Bench:
    def __init__(self, root, base, host, port, user, password, scale, tmp, server_cpu):
        self.root, self.base = root, base
        self.addr = (host, port, user, password)
        self.scale = scale  # 1 on loopback, smaller through the relay
        self.tmp = tmp
        self.big_size = (root / "big.bin").stat().st_size
        self.server_cpu = server_cpu  # () -> CPU seconds of the server's sessions so far
        self.relay = None  # a counting relay in front of the server (--count)
        # Where `get` writes: tmpfs, as benches/bench_mirror.py does. On this
        # machine making a file under /tmp costs ~0.6 ms of kernel CPU (reads do
        # not), which would swamp both clients' own work per file.
        self.dest_dir = "/dev/shm" if os.path.isdir("/dev/shm") else tmp

    @property
    def target(self):
        if self.relay is not None:
            return ("127.0.0.1", self.relay.port, *self.addr[2:])
        return self.addr

    def new(self, name, sessions=4, **kw):
        if name == FLOOR:
            return Floor(*self.target, sessions=sessions)
        fs = CLIENTS[name](*self.target, **kw)
        fs.ls(self.base + "/")  # log in before the clock starts
        if name == "rftp://":  # the whole pool, as in steady use
            sessions = [fs._pool.acquire() for _ in range(fs.connections)]
            for session in sessions:
                fs._pool.release(session)
        return fs

    def timed(self, fn, amount):
        """Runs ``fn()``: a Run with this process's CPU, and the server's CPU in ``.server``."""
        calm_ports()
        s0, c0, t0 = self.server_cpu(), self_cpu(), time.perf_counter()
        fn()
        t1, c1, s1 = time.perf_counter(), self_cpu(), self.server_cpu()
        run = Run(t1 - t0, c1 - c0, amount)
        run.server = s1 - s0
        return run

    def cat_files(self, name):
        n = max(20, int(200 * self.scale))
        paths = [f"{self.base}/small/f{i:03d}.bin" for i in range(n)]
        fs = self.new(name)
        out = {}
        if name == FLOOR:
            run = self.timed(lambda: out.update(total=fs.run(paths, floor_retr)), n)
            assert out["total"] == n * 256 * KiB
        else:
            run = self.timed(lambda: out.update(fs.cat(paths)), n)
            assert sum(map(len, out.values())) == n * 256 * KiB
            check = paths[n // 2]
            assert out[check] == (self.root / check[len(self.base) + 1 :]).read_bytes()
        _close(fs)
        return run, "files/s"

    def cat_threads(self, name):
        n = max(40, int(200 * self.scale))
        paths = [f"{self.base}/small/f{i:03d}.bin" for i in range(n)]
        if name == FLOOR:
            fs = self.new(name, sessions=8)
            out = {}
            run = self.timed(lambda: out.update(total=fs.run(paths, floor_retr)), n)
            assert out["total"] == n * 256 * KiB
            _close(fs)
            return run, "files/s"
        if name == "ftp://":
            instances = [self.new(name) for _ in range(8)]
        else:
            instances = [self.new(name)] * 8
            _warm(instances[0], 8)  # steady use: as many sessions as callers
        sizes = [0] * 8

        def work(k):
            fs = instances[k]
            for p in paths[k::8]:
                sizes[k] += len(fs.cat_file(p))

        def go():
            threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
            for th in threads:
                th.start()
            for th in threads:
                th.join()

        run = self.timed(go, n)
        assert sum(sizes) == n * 256 * KiB, sizes
        for fs in set(instances):
            _close(fs)
        return run, "files/s"

    def offsets(self):
        n = max(50, int(1000 * self.scale))
        rng = random.Random(2)
        return [rng.randrange(0, self.big_size - 64 * KiB) for _ in range(n)]

    def random_reads(self, name):
        offs = self.offsets()
        path = self.base + "/big.bin"
        got = []
        if name == FLOOR:
            fs = self.new(name, sessions=1)
            s = fs.sessions[0]
            run = self.timed(lambda: got.extend(s.retr(path, o, 64 * KiB) for o in offs), len(offs))
            assert got == [64 * KiB] * len(offs)
            _close(fs)
            return run, "reads/s"
        fs = self.new(name)

        def go():
            with fs.open(path, "rb", block_size=64 * KiB) as f:
                for off in offs:
                    f.seek(off)
                    got.append(f.read(64 * KiB))

        run = self.timed(go, len(offs))
        self._check_ranges(offs, got)
        _close(fs)
        return run, "reads/s"

    def cat_ranges(self, name):
        offs = self.offsets()
        fs = self.new(name)
        path = self.base + "/big.bin"
        got = []
        if name == FLOOR:
            jobs = [(path, o, 64 * KiB) for o in offs]
            run = self.timed(lambda: got.append(fs.run(jobs, lambda s, j: s.retr(*j))), len(offs))
            assert got == [len(offs) * 64 * KiB]
        else:
            ends = [o + 64 * KiB for o in offs]
            run = self.timed(lambda: got.extend(fs.cat_ranges([path] * len(offs), offs, ends)),
                             len(offs))
            self._check_ranges(offs, got)
        _close(fs)
        return run, "reads/s"

    def _check_ranges(self, offs, got):
        with open(self.root / "big.bin", "rb") as f:
            for off, data in list(zip(offs, got))[:: max(1, len(offs) // 20)]:
                assert data == os.pread(f.fileno(), 64 * KiB, off), off

    def sequential(self, name):
        limit = max(64 * MiB, int(self.big_size * min(1.0, self.scale * 2.5)))
        path = self.base + "/big.bin"
        if name == FLOOR:
            fs = self.new(name, sessions=1)
            got = []
            run = self.timed(lambda: got.append(fs.sessions[0].retr(path, 0, limit)), limit)
            assert got == [limit]
            _close(fs)
            return run, "MB/s"
        fs = self.new(name)
        kept = []
        total = [0]

        def go():
            with fs.open(path, "rb", block_size=4 * MiB) as f:
                while total[0] < limit:
                    chunk = f.read(4 * MiB)
                    if not chunk:
                        break
                    if not total[0] % (32 * MiB):
                        kept.append((total[0], chunk))
                    total[0] += len(chunk)

        run = self.timed(go, limit)
        assert total[0] == limit
        assert kept
        with open(self.root / "big.bin", "rb") as f:
            for off, chunk in kept:
                assert chunk == os.pread(f.fileno(), len(chunk), off), off
        _close(fs)
        return run, "MB/s"

    def get_tree(self, name):
        dirs = sorted(p.name for p in (self.root / "tree").iterdir())
        take = dirs[: max(1, int(len(dirs) * self.scale))]
        count = sum(len(os.listdir(self.root / "tree" / d)) for d in take)
        fs = self.new(name)
        if name == FLOOR:
            out = []

            # The listing is part of the work: NLST once per directory, then every file.
            def go():
                listed = []
                fs.run([f"{self.base}/tree/{d}" for d in take],
                       lambda s, d: listed.extend(s.nlst(d)) or 0)
                out.append(fs.run(listed, floor_retr))

            run = self.timed(go, count)
            assert out == [count * 8 * KiB], out
            _close(fs)
            return run, "files/s"
        dest = Path(tempfile.mkdtemp(dir=self.dest_dir, prefix="bench-fsspec-get-"))

        def go():
            for d in take:
                fs.get(f"{self.base}/tree/{d}", str(dest / d), recursive=True)

        run = self.timed(go, count)
        got = 0
        for d in take:
            for p in (self.root / "tree" / d).iterdir():
                assert (dest / d / p.name).read_bytes() == p.read_bytes()
                got += 1
        assert got == count
        shutil.rmtree(dest)
        _close(fs)
        return run, "files/s"


def _warm(fs, callers):
    """``callers`` threads each take a session at once, then give it back: the
    pool opens what that many callers make it open."""
    barrier = threading.Barrier(callers)

    def take():
        session = fs._pool.acquire()
        try:
            barrier.wait(30)
        finally:
            fs._pool.release(session)

    threads = [threading.Thread(target=take) for _ in range(callers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def floor_retr(session, path):
    return session.retr(path)


WORKLOADS = [
    ("cat 200 files", "cat_files"),
    ("cat 8 threads", "cat_threads"),
    ("random reads 64K", "random_reads"),
    ("cat_ranges 64K", "cat_ranges"),
    ("sequential read", "sequential"),
    ("get tree", "get_tree"),
]


def _close(fs):
    close = getattr(fs, "close", None)
    if close is not None:
        close()
    elif hasattr(fs, "ftp"):
        fs.ftp.close()


def run(setups, only, reps, count):
    rows, cmds = [], {}
    for label, start, scale in setups:
        with start() as bench:
            for title, method in WORKLOADS:
                if only and method not in only:
                    continue
                key = f"{label} · {title}"
                cells = {name: Row(key, name, "") for name in ALL}
                for rep in range(reps):
                    for name in rotate(ALL, rep):
                        row = cells[name]
                        try:
                            r, row.unit = getattr(bench, method)(name)
                        except Exception as exc:  # noqa: BLE001 - a failed cell is reported
                            row.failures.append(f"{type(exc).__name__}: {exc}")
                            print(f"{key} {name}: {type(exc).__name__}: {exc}", file=sys.stderr)
                            continue
                        row.runs.append(r)
                        row.extra.setdefault("server", []).append(r.server)
                if count:
                    for name in ALL:
                        with CountingRelay(bench.addr[1]) as relay:
                            bench.relay = relay
                            try:
                                r, _ = getattr(bench, method)(name)
                                time.sleep(0.2)  # the last replies and QUITs
                                got = relay.counts()
                            except Exception as exc:  # noqa: BLE001
                                got = {"failed": str(exc)}
                            finally:
                                bench.relay = None
                        cmds[(key, name)] = (got, r.amount)
                for name in ALL:
                    rows.append(cells[name])
                _line(cells)
    return rows, cmds


def _server_cpu(row):
    per = row.extra.get("server")
    if not per or not row.runs:
        return "-"
    if row.unit == "MB/s":
        return f"{statistics.median(s / (r.amount / GiB) for s, r in zip(per, row.runs)):.2f} s/GiB"
    unit = "file" if row.unit == "files/s" else "op"
    return f"{statistics.median(s / r.amount * 1e6 for s, r in zip(per, row.runs)):,.0f} µs/{unit}"


def _line(cells):
    a, b, f = (cells[n].median() for n in ALL)
    unit = cells["rftp://"].unit or cells["ftp://"].unit

    def num(x):
        return f"{x:10.1f}" if x else f"{'failed':>10}"

    def ratio(x, y):
        return f"{x / y:5.2f}x" if x and y else f"{'-':>6}"

    print(f"| {cells['ftp://'].workload:40} | {num(a)} | {num(b)} | {num(f)} | {unit:7} "
          f"| {ratio(b, a)} | {ratio(f, a)} |", flush=True)


def summary(rows):
    """The README table: medians, min–max, ratios to ftp://."""
    by = {}
    for row in rows:
        by.setdefault(row.workload, {})[row.client] = row
    print("\n| server · workload | ftp:// | rftp:// | floor | unit | rftp/ftp | floor/ftp |")
    print("|---|---:|---:|---:|---|---:|---:|")
    for key, cells in by.items():
        out = []
        for name in ALL:
            rates = cells[name].rates()
            if rates:
                out.append(f"{statistics.median(rates):,.0f} ({min(rates):,.0f}–{max(rates):,.0f})")
            else:
                out.append("failed")
        a, b, f = (cells[n].median() for n in ALL)
        unit = cells["rftp://"].unit or cells["ftp://"].unit
        r1 = f"{b / a:.2f}×" if a and b else "-"
        r2 = f"{f / a:.2f}×" if a and f else "-"
        print(f"| {key} | {out[0]} | {out[1]} | {out[2]} | {unit} | {r1} | {r2} |")


def print_counts(cmds):
    print("\nFTP commands per file (per read), counted by a relay without delay:\n")
    print("| server · workload | client | commands per unit | by verb |")
    print("|---|---|---:|---|")
    for (key, name), (got, amount) in cmds.items():
        if "failed" in got:
            print(f"| {key} | {name} | failed | {got['failed']} |")
            continue
        # The login and QUIT of each session are not the workload's.
        verbs = {v: n for v, n in got.items() if v not in ("USER", "PASS", "QUIT")}
        if amount > 100_000:  # bytes: one whole read, so commands in all
            amount = 1
        per = sum(verbs.values()) / amount
        detail = ", ".join(
            f"{v} {n / amount:.2f}" for v, n in sorted(verbs.items(), key=lambda x: -x[1])
        )
        print(f"| {key} | {name} | {per:.2f} | {detail} |")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="128 MiB big file, 400-file tree")
    p.add_argument("--no-wan", action="store_true", help="skip the 20 ms relay rows")
    p.add_argument("--setups", default="pyftpdlib,vsftpd,wan", help="which of pyftpdlib,vsftpd,wan")
    p.add_argument("--rtt-ms", type=float, default=20.0)
    p.add_argument("--reps", type=int, default=3, help="repetitions per cell (median kept)")
    p.add_argument("--only", default="", help="comma-separated workload methods")
    p.add_argument("--count", action="store_true", help="also count FTP commands per file")
    args = p.parse_args(argv)
    warnings.simplefilter("ignore", DeprecationWarning)
    only = {w for w in args.only.split(",") if w}
    big = 128 * MiB if args.quick else GiB
    dirs, files = (4, 100) if args.quick else (20, 100)

    tmp = Path(tempfile.mkdtemp(prefix="bench-fsspec-"))
    tmp.chmod(0o755)
    try:
        root = tmp / "root"
        t = time.perf_counter()
        make_data(root, big, dirs, files)
        print(f"data: {big // MiB} MiB file, 200 x 256 KiB, {dirs * files}-file tree "
              f"({time.perf_counter() - t:.1f} s to write)", file=sys.stderr)

        def vsftpd_cpu(srv):
            return lambda: sum(process_cpu(pid) or 0.0 for pid in srv.session_pids())

        @contextlib.contextmanager
        def pyftpd():
            with PyftpdlibProcess(root) as srv:
                yield Bench(root, "", srv.host, srv.port, srv.user, srv.password, 1.0, tmp,
                            lambda: process_cpu(srv._proc.pid) or 0.0)

        @contextlib.contextmanager
        def vsftpd():
            with Vsftpd(root) as srv:
                yield Bench(root, str(root), srv.host, srv.port, srv.user, srv.password, 1.0,
                            tmp, vsftpd_cpu(srv))

        @contextlib.contextmanager
        def wan():
            with Vsftpd(root) as srv:
                relay = Relay(srv.port, args.rtt_ms)
                try:
                    yield Bench(root, str(root), "127.0.0.1", relay.port, srv.user,
                                srv.password, 0.1, tmp, vsftpd_cpu(srv))
                finally:
                    relay.close()

        chosen = set(args.setups.split(","))
        if args.no_wan:
            chosen.discard("wan")
        setups = [
            (label, start, scale)
            for key, label, start, scale in [
                ("pyftpdlib", "pyftpdlib loopback", pyftpd, 1.0),
                ("vsftpd", "vsftpd loopback", vsftpd, 1.0),
                ("wan", f"vsftpd {args.rtt_ms:g} ms RTT", wan, 0.1),
            ]
            if key in chosen
        ]
        print(machine_line())
        print(f"medians of {args.reps}; clients alternate in a rotating order\n")
        print(f"| {'server · workload':40} |     ftp:// |    rftp:// |      floor | unit    "
              "| rftp/ftp | floor/ftp |")
        rows, cmds = run(setups, only, args.reps, args.count)
        print_table(rows, {r.workload: "ftp://" for r in rows},
                    "Per client: medians, min–max, CPU per unit (client: this process; "
                    "server: its sessions)", extra_cols=[("server CPU", _server_cpu)])
        summary(rows)
        if cmds:
            print_counts(cmds)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
