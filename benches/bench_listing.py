#!/usr/bin/env python3
"""Listing one 100,000-entry directory: rftplib's ``scandir`` against ftplib's
``mlsd()`` (MLSD, pure-ftpd) and against ftputil's LIST parsing (vsftpd).

    nice python benches/bench_listing.py               # 100,000 entries, 3 repetitions
    python benches/bench_listing.py --entries 20000 --reps 5

Needs root, vsftpd (tests/vsftpd.py), pure-ftpd (benches/pureftpd.py says how
to unpack it beside vsftpd; without it pyftpdlib in a subprocess serves MLSD,
with a note) and ftputil (``pip install ftputil``). The directory holds empty
files with names of 12-40 characters, on /dev/shm.

Every client lists the same directory on the same server, alternating within
each repetition; the table gives medians of wall time, entries per second and
client CPU (getrusage of this process: the server runs in another), and the
ratio of rftplib's rate to the other client's. A "floor" row per server
receives the same reply without parsing it: no client can list faster than
the server sends. Each result is checked: the names equal the directory's,
and every entry has a size and a time.
"""

from __future__ import annotations

import argparse
import ftplib
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "tests"), str(HERE)]

import rftplib
from vsftpd import Vsftpd, process_cpu


def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def make_dir(base, count):
    d = base / "big"
    d.mkdir()
    for i in range(count):
        # Names of varying length, some with spaces, as real directories have.
        name = f"file-{i:06d}" + ("-x" * (i % 15)) + (" copy" if i % 7 == 0 else "")
        fd = os.open(d / name, os.O_CREAT | os.O_WRONLY, 0o644)
        os.close(fd)
    return d, set(os.listdir(d))


def start_mlsd_server(root):
    try:
        from pureftpd import PureFtpd
    except ImportError:
        PureFtpd = None

    if PureFtpd is not None:

        class BigPureFtpd(PureFtpd):
            def _argv(self):
                # pure-ftpd stops listing at 2,000 entries unless told otherwise.
                return super()._argv() + ["-L", "1000000:8"]

        try:
            return "pure-ftpd", BigPureFtpd(root, tls_required=False)
        except RuntimeError as e:
            print(f"note: {e}; serving MLSD with pyftpdlib instead", file=sys.stderr)
    from servers import PyftpdlibProcess

    return "pyftpdlib", PyftpdlibProcess(root)


def server_cpu(srv):
    """CPU seconds the server's live sessions have used so far."""
    return sum(process_cpu(pid) or 0.0 for pid in srv.session_pids())


def timed(fn, expected, srv):
    """(wall, cpu, server cpu) of the listing alone: ``fn`` yields once
    logged in, then yields the listing as the client gives it, and is
    resumed after the clock stops to check it and log out. The server's CPU
    is that of its sessions (alive throughout) over the same span."""
    gen = fn()
    next(gen)
    s0, c0, t0 = server_cpu(srv), cpu_seconds(), time.perf_counter()
    next(gen)
    t1, c1, s1 = time.perf_counter(), cpu_seconds(), server_cpu(srv)
    result = next(gen)
    gen.close()
    names = set(result)
    if names != expected:
        missing, extra = expected - names, names - expected
        raise SystemExit(f"wrong listing: {len(missing)} missing, {len(extra)} extra")
    return t1 - t0, c1 - c0, s1 - s0


def login(mod, srv):
    ftp = mod.FTP(timeout=120)
    ftp.connect(srv.host, srv.port)
    ftp.login(srv.user, srv.password)
    return ftp


def rftplib_scandir(srv, mlsd):
    def run():
        with login(rftplib, srv) as ftp:
            yield
            entries = ftp.scandir("big", mlsd=mlsd)
            yield
            assert all(e.size is not None and e.modified is not None for e in entries)
            yield [e.name for e in entries]

    return run


def ftplib_mlsd(srv):
    def run():
        with login(ftplib, srv) as ftp:
            yield
            entries = [
                (n, f)
                for n, f in ftp.mlsd("big")
                if f.get("type") not in ("cdir", "pdir")
            ]
            yield
            assert all("size" in f and "modify" in f for _, f in entries)
            yield [n for n, _ in entries]

    return run


def raw_bytes(srv, cmd):
    """The floor: the reply's bytes received and dropped (ftplib, TYPE A)."""

    def run():
        with login(ftplib, srv) as ftp:
            yield
            ftp.sendcmd("TYPE A")
            size = 0
            with ftp.transfercmd(cmd) as conn:
                while block := conn.recv(1 << 18):
                    size += len(block)
            ftp.voidresp()
            yield
            # Checked by name through rftplib's parser, outside the clock.
            yield [
                e.name
                for e in rftplib.FTP.scandir(ftp, "big", mlsd=cmd.startswith("MLSD"))
            ]

    return run


def ftputil_listdir(srv):
    import ftputil
    import ftputil.session

    factory = ftputil.session.session_factory(port=srv.port, encoding="UTF-8")

    def run():
        with ftputil.FTPHost(
            srv.host, srv.user, srv.password, session_factory=factory
        ) as host:
            host.stat_cache.disable()
            path = host.path.abspath("big")
            yield
            # What listdir does, keeping the parsed results: LIST, then
            # ftputil's parser on every line (StatResult objects).
            results = list(host._stat._stat_results_from_dir(path))
            yield
            assert all(
                r.st_size is not None and r.st_mtime is not None for r in results
            )
            yield [r._st_name for r in results]

    return run


def bench(rows, reps, expected, srv):
    results = {name: [] for name, _ in rows}
    for rep in range(reps):
        order = rows[rep % len(rows) :] + rows[: rep % len(rows)]
        for name, fn in order:
            srv.wait_idle()
            results[name].append(timed(fn, expected, srv))
    return {
        name: (
            statistics.median(w for w, _, _ in runs),
            statistics.median(c for _, c, _ in runs),
            statistics.median(s for _, _, s in runs),
            min(w for w, _, _ in runs),
            max(w for w, _, _ in runs),
        )
        for name, runs in results.items()
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    try:
        import ftputil  # noqa: F401
    except ImportError:
        raise SystemExit("ftputil is missing: pip install ftputil") from None

    shm = Path("/dev/shm") if Path("/dev/shm").is_dir() else None
    base = Path(tempfile.mkdtemp(prefix="rftplib-bench-listing-", dir=shm))
    base.chmod(0o755)
    n = args.entries
    try:
        print(f"making {n:,} files in {base} ...", file=sys.stderr)
        _, expected = make_dir(base, n)
        mlsd_name, mlsd_server = start_mlsd_server(base)
        table = []
        with mlsd_server as srv:
            res = bench(
                [
                    ("rftplib scandir (MLSD)", rftplib_scandir(srv, True)),
                    ("ftplib mlsd()", ftplib_mlsd(srv)),
                    ("floor: MLSD bytes, unparsed", raw_bytes(srv, "MLSD big")),
                    # Another request for the same directory: not faster.
                    ("floor: LIST bytes, unparsed", raw_bytes(srv, "LIST big")),
                ],
                args.reps,
                expected,
                srv,
            )
            table.append((mlsd_name, "rftplib scandir (MLSD)", "ftplib mlsd()", res))
        with Vsftpd(base) as srv:
            res = bench(
                [
                    ("rftplib scandir (LIST)", rftplib_scandir(srv, False)),
                    ("ftputil LIST parsing", ftputil_listdir(srv)),
                    ("floor: LIST bytes, unparsed", raw_bytes(srv, "LIST big")),
                ],
                args.reps,
                expected,
                srv,
            )
            table.append(
                ("vsftpd", "rftplib scandir (LIST)", "ftputil LIST parsing", res)
            )
    finally:
        shutil.rmtree(base, ignore_errors=True)

    print(f"\nOne directory of {n:,} entries, medians of {args.reps}, 127.0.0.1\n")
    print(
        "| server | client | seconds | min–max | entries/s | client CPU s "
        "| server CPU s | ratio (entries/s) |"
    )
    print("|---|---|---:|---|---:|---:|---:|---:|")
    for server, ours, theirs, res in table:
        for client, (wall, cpu, scpu, lo, hi) in res.items():
            if client.startswith("floor"):
                # The best any client can do against this floor.
                ratio = f"≤ {res[theirs][0] / wall:.1f}×"
            else:
                ratio = {ours: f"{res[theirs][0] / wall:.1f}×", theirs: "1.0×"}.get(
                    client, ""
                )
            print(
                f"| {server} | {client} | {wall:.3f} | {lo:.3f}–{hi:.3f} | {n / wall:,.0f} "
                f"| {cpu:.3f} | {scpu:.3f} | {ratio} |"
            )
    print(
        "\nratio: the other client's seconds over rftplib's (its entries/s over "
        "theirs). The floor rows only receive the reply: what the server alone "
        "costs, and so the highest ratio any client can reach (≤). server CPU: "
        "the server's session processes over the same span; close to the floor's "
        "seconds when the server is busy on one core the whole time."
    )


if __name__ == "__main__":
    main()
