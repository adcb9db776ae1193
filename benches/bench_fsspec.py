#!/usr/bin/env python3
"""rftp:// (rftplib.fsspec) against fsspec's own ftp:// on the same servers, in one run.

    python benches/bench_fsspec.py              # loopback pyftpdlib + vsftpd, and vsftpd at 20 ms RTT
    python benches/bench_fsspec.py --quick      # smaller sizes, a smoke test
    python benches/bench_fsspec.py --no-wan     # loopback only

Needs root and /usr/sbin/vsftpd (tests/vsftpd.py), pyftpdlib, fsspec, and
rftplib built (``maturin develop --release`` for figures worth quoting).
The WAN rows go through benches/wanrelay.py (a subprocess) in front of vsftpd.

Workloads, each the same fsspec call on both filesystems:
  cat 200 files    ``fs.cat([200 paths of 256 KiB])`` on one instance
  cat 8 threads    8 threads ``cat_file`` their share; fsspec's FTP gets one
                   instance per thread (one of its instances is not safe to
                   share), rftp one shared instance with ``connections=8``
  random reads     one open file: ``seek`` + ``read(64 KiB)`` at random offsets in 1 GiB
  cat_ranges       the same offsets in one ``cat_ranges`` call
  sequential read  ``open().read(4 MiB)`` to the end of the 1 GiB file
  get tree         ``fs.get(tree, local, recursive=True)``, 2,000 files of 8 KiB in 20 dirs
Every figure is a rate (higher is better); the last column is rftp / ftp.
Both log in before the clock starts: fsspec's instances, and every session
of rftp's pool (as in steady use).
Through the relay the counts are smaller (a tenth of the reads, a quarter of
the sequential bytes, a tenth of the tree) so that fsspec's rows end in time.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from servers import PyftpdlibProcess
from vsftpd import Vsftpd

KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30


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


def rftp(host, port, user, password, connections=4):
    from rftplib.fsspec import FTPFileSystem

    return FTPFileSystem(
        host, port, user, password, timeout=15, connections=connections, skip_instance_cache=True
    )


CLIENTS = {"ftp://": fsspec_ftp, "rftp://": rftp}


class Bench:
    def __init__(self, root, base, host, port, user, password, scale, tmp):
        self.root, self.base = root, base
        self.addr = (host, port, user, password)
        self.scale = scale  # 1 on loopback, smaller through the relay
        self.tmp = tmp
        self.big_size = (root / "big.bin").stat().st_size

    def new(self, name, **kw):
        fs = CLIENTS[name](*self.addr, **kw)
        fs.ls(self.base + "/")  # log in before the clock starts
        if name == "rftp://":  # the whole pool, as in steady use
            sessions = [fs._pool.acquire() for _ in range(fs.connections)]
            for session in sessions:
                fs._pool.release(session)
        return fs

    def cat_files(self, name):
        n = max(20, int(200 * self.scale))
        paths = [f"{self.base}/small/f{i:03d}.bin" for i in range(n)]
        fs = self.new(name)
        t = time.perf_counter()
        out = fs.cat(paths)
        secs = time.perf_counter() - t
        assert sum(map(len, out.values())) == n * 256 * KiB
        check = paths[n // 2]
        assert out[check] == (self.root / check[len(self.base) + 1 :]).read_bytes()
        _close(fs)
        return n / secs, "files/s"

    def cat_threads(self, name):
        n = max(40, int(200 * self.scale))
        paths = [f"{self.base}/small/f{i:03d}.bin" for i in range(n)]
        if name == "ftp://":
            instances = [self.new(name) for _ in range(8)]
        else:
            instances = [self.new(name, connections=8)] * 8
        sizes = [0] * 8

        def work(k):
            fs = instances[k]
            for p in paths[k::8]:
                sizes[k] += len(fs.cat_file(p))

        threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
        t = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        secs = time.perf_counter() - t
        assert sum(sizes) == n * 256 * KiB, sizes
        for fs in set(instances):
            _close(fs)
        return n / secs, "files/s"

    def offsets(self):
        n = max(50, int(1000 * self.scale))
        rng = random.Random(2)
        return [rng.randrange(0, self.big_size - 64 * KiB) for _ in range(n)]

    def random_reads(self, name):
        offs = self.offsets()
        fs = self.new(name)
        got = []
        t = time.perf_counter()
        with fs.open(self.base + "/big.bin", "rb", block_size=64 * KiB) as f:
            for off in offs:
                f.seek(off)
                got.append(f.read(64 * KiB))
        secs = time.perf_counter() - t
        self._check_ranges(offs, got)
        _close(fs)
        return len(offs) / secs, "reads/s"

    def cat_ranges(self, name):
        offs = self.offsets()
        fs = self.new(name)
        path = self.base + "/big.bin"
        t = time.perf_counter()
        got = fs.cat_ranges([path] * len(offs), offs, [o + 64 * KiB for o in offs])
        secs = time.perf_counter() - t
        self._check_ranges(offs, got)
        _close(fs)
        return len(offs) / secs, "reads/s"

    def _check_ranges(self, offs, got):
        with open(self.root / "big.bin", "rb") as f:
            for off, data in list(zip(offs, got))[:: max(1, len(offs) // 20)]:
                assert data == os.pread(f.fileno(), 64 * KiB, off), off

    def sequential(self, name):
        limit = max(64 * MiB, int(self.big_size * min(1.0, self.scale * 2.5)))
        fs = self.new(name)
        h = hashlib.sha256()
        total = 0
        t = time.perf_counter()
        with fs.open(self.base + "/big.bin", "rb", block_size=4 * MiB) as f:
            while total < limit:
                chunk = f.read(4 * MiB)
                if not chunk:
                    break
                h.update(chunk)
                total += len(chunk)
        secs = time.perf_counter() - t
        want = hashlib.sha256()
        with open(self.root / "big.bin", "rb") as f:
            want.update(f.read(total))
        assert h.hexdigest() == want.hexdigest()
        _close(fs)
        return total / secs / 1e6, "MB/s"

    def get_tree(self, name):
        dirs = sorted(p.name for p in (self.root / "tree").iterdir())
        take = dirs[: max(1, int(len(dirs) * self.scale))]
        fs = self.new(name)
        dest = Path(tempfile.mkdtemp(dir=self.tmp))
        count = 0
        t = time.perf_counter()
        for d in take:
            fs.get(f"{self.base}/tree/{d}", str(dest / d), recursive=True)
        secs = time.perf_counter() - t
        for d in take:
            for p in (self.root / "tree" / d).iterdir():
                assert (dest / d / p.name).read_bytes() == p.read_bytes()
                count += 1
        shutil.rmtree(dest)
        _close(fs)
        return count / secs, "files/s"


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


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# wanrelay.py's sockets read past TCP urgent data, so the last byte of
# ftplib's ABOR (sent with MSG_OOB) never reaches the server and fsspec's
# ftp:// hangs on its first cut transfer. A real network delivers it: keep
# urgent bytes in line (SO_OOBINLINE) on the relay's accepted sockets.
_RELAY_MAIN = """
import socket, sys
sys.path.insert(0, sys.argv.pop(1))
import wanrelay
_accept = socket.socket.accept
def accept(self):
    conn, addr = _accept(self)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_OOBINLINE, 1)
    return conn, addr
socket.socket.accept = accept
sys.exit(wanrelay.main(sys.argv[1:]))
"""


class Relay:
    """benches/wanrelay.py in a subprocess (its own GIL), in front of ``port``."""

    def __init__(self, port, rtt_ms):
        self.port = free_port()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                _RELAY_MAIN,
                str(REPO / "benches"),
                "--listen",
                f"127.0.0.1:{self.port}",
                "--server",
                f"127.0.0.1:{port}",
                "--rtt-ms",
                str(rtt_ms),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
                    if s.makefile("rb").readline().startswith(b"220"):
                        return
            except OSError:
                time.sleep(0.05)
        self.close()
        raise RuntimeError("the WAN relay did not start")

    def close(self):
        self.proc.terminate()
        self.proc.wait(10)


def run(setups, only, reps):
    rows = []
    for label, start, scale in setups:
        with start() as (bench):
            for title, method in WORKLOADS:
                if only and method not in only:
                    continue
                figures, unit = {}, ""
                for name in CLIENTS:
                    best = None
                    for _ in range(reps):
                        try:
                            rate, unit = getattr(bench, method)(name)
                        except Exception as exc:  # noqa: BLE001 - a failed cell is reported
                            print(f"{label} {title} {name}: {type(exc).__name__}: {exc}",
                                  file=sys.stderr)
                            break
                        best = rate if best is None else max(best, rate)
                    figures[name] = best
                a, b = figures["ftp://"], figures["rftp://"]
                ratio = b / a if a and b else None
                row = (label, title, a, b, unit, ratio)
                rows.append(row)
                print(_fmt(row), flush=True)
    return rows


def _fmt(row):
    label, title, a, b, unit, ratio = row

    def num(x):
        return f"{x:10.1f}" if x is not None else f"{'failed':>10}"

    r = f"{ratio:5.2f}x" if ratio is not None else f"{'-':>6}"
    return f"| {label:22} | {title:17} | {num(a)} | {num(b)} | {unit:7} | {r} |"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="128 MiB big file, 400-file tree")
    p.add_argument("--no-wan", action="store_true", help="skip the 20 ms relay rows")
    p.add_argument("--setups", default="pyftpdlib,vsftpd,wan", help="which of pyftpdlib,vsftpd,wan")
    p.add_argument("--rtt-ms", type=float, default=20.0)
    p.add_argument("--reps", type=int, default=1, help="repetitions per cell (best kept)")
    p.add_argument("--only", default="", help="comma-separated workload methods")
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
        import contextlib

        @contextlib.contextmanager
        def pyftpd():
            with PyftpdlibProcess(root) as srv:
                yield Bench(root, "", srv.host, srv.port, srv.user, srv.password, 1.0, tmp)

        @contextlib.contextmanager
        def vsftpd():
            with Vsftpd(root) as srv:
                yield Bench(root, str(root), srv.host, srv.port, srv.user, srv.password, 1.0, tmp)

        @contextlib.contextmanager
        def wan():
            with Vsftpd(root) as srv:
                relay = Relay(srv.port, args.rtt_ms)
                try:
                    yield Bench(root, str(root), "127.0.0.1", relay.port, srv.user,
                                srv.password, 0.1, tmp)
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
        print("| server                 | workload          |     ftp:// |    rftp:// | unit    | ratio |")
        print("|------------------------|-------------------|-----------:|-----------:|---------|------:|")
        run(setups, only, args.reps)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
