#!/usr/bin/env python3
"""Whole-file transfers side by side: curl, lftp, rclone, ftplib and rftplib, one run.

    python benches/bench_transfers.py                      # everything, 3 repetitions
    python benches/bench_transfers.py --reps 5 --only get,put
    python benches/bench_transfers.py --only wan --wan-size 64 --reps 1   # a quick look
    python benches/bench_transfers.py --clients curl,rftplib.download     # a subset

Workloads (``--only``, comma-separated):
  get           one file (``--size`` MiB, default 1024) from vsftpd to a local file:
                curl, lftp get, rclone copyto (one stream), ftplib retrbinary(fp.write),
                rftplib retrbinary(fp.write), rftplib download()
  put           the same file uploaded: curl -T, lftp put, ftplib storbinary, rftplib upload(),
                and three measurements: the least client work (sendfile of the whole file on
                one raw data connection), the least server work over loopback (write() of
                1 MiB blocks of the mapped file) and two sessions each storing one half (not
                a client); the put rows add vsftpd's CPU per GiB and its share of the wall time
  wan           through benches/wanrelay.py at ``--rtt-ms`` (20) with a ``--cap-mbps`` (20)
                cap per connection, one ``--wan-size`` MiB (256) file: curl, lftp get,
                lftp pget -n 4 / -n 8, rclone with 4 multi-thread streams, ftplib,
                rftplib download(connections=1/4/8)
  wan-uncapped  the same relay without the cap: curl vs download()
  noop          ``--noops`` (1000) × NOOP on one session: ftplib vs rftplib (3 × --reps runs)
  wan-tls       (only when asked for) FTPS, PROT P, vsftpd requiring TLS session reuse,
                through the relay's pass-through mode at the same RTT and cap: curl,
                ftplib (with session reuse), rftplib download(connections=1/4)

Every client runs from connect to quit (subprocess clients from spawn to
exit). Clients alternate within each repetition, in a rotating order; the
table shows the median, min–max, and the client's CPU per GiB (os.wait4 for
subprocesses, getrusage(RUSAGE_SELF) for in-process clients; the relay runs
in a process of its own). Every downloaded file is checked by sha256, and
every uploaded one on the server side; a client with wrong bytes counts as a
failure and is listed under the table. Before each local run the previous
output is deleted and as much memory as the file is touched and freed (see
/work/shared/reference/servers.md: the VM hands freed memory back to its host).

Needs root (vsftpd via tests/vsftpd.py), curl, lftp and rclone (apt), and
rftplib built in release mode (``maturin develop --release``). Rows whose
client is missing (e.g. ``download()`` before it exists) say n/a.
"""

from __future__ import annotations

import argparse
import ftplib
import mmap
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench import ServerCpu
from common import (
    ClientFailed,
    GiB,
    MiB,
    RelayProcess,
    Row,
    all_errors,
    check_file,
    describe,
    machine_line,
    make_file,
    measure,
    print_table,
    rclone_remote,
    rotate,
    run_command,
    tool_versions,
    touch_memory,
)
from vsftpd import Vsftpd

try:
    import rftplib
except ImportError:  # the table says n/a
    rftplib = None

WORKLOADS = ("get", "put", "wan", "wan-uncapped", "noop")
OPTIONAL = ("wan-tls",)
TIMEOUT = 120


class Bench:
    def __init__(self, args, srv, work):
        self.args = args
        self.srv = srv
        self.work = work
        self.root = srv.root
        self.out = work / "client"
        self.out.mkdir(exist_ok=True)
        self.rclone = rclone_remote(srv.host, srv.port, srv.user, srv.password)

    # -- how each client is invoked -------------------------------------------------

    def url(self, port, name):
        return f"ftp://{self.srv.user}:{self.srv.password}@127.0.0.1:{port}/{name}"

    def lftp(self, port, commands, amount):
        script = (
            "set cmd:fail-exit yes; set net:max-retries 2; set net:timeout 60; "
            "set ftp:ssl-allow no; set xfer:clobber on; "
            f"open -u {self.srv.user},{self.srv.password} -p {port} 127.0.0.1; {commands}"
        )
        return run_command(["lftp", "-c", script], amount)

    def session(self, mod, port):
        ftp = mod.FTP(timeout=TIMEOUT)
        ftp.connect("127.0.0.1", port)
        ftp.login(self.srv.user, self.srv.password)
        return ftp

    def in_process(self, mod, port, body, amount):
        def go():
            ftp = self.session(mod, port)
            try:
                body(ftp)
                ftp.quit()
            finally:
                ftp.close()

        return measure(go, amount)

    def download_clients(self, port, name, size, wan):
        """(label, fn(out_path) -> Run) for downloading ``name``."""
        clients = [
            ("curl", lambda out: run_command(["curl", "-sS", "--fail", "-o", str(out), self.url(port, name)], size)),
            ("lftp get", lambda out: self.lftp(port, f"get {name} -o {out}", size)),
        ]
        if wan:
            for n in (4, 8):
                clients.append(
                    (f"lftp pget -n {n}", lambda out, n=n: self.lftp(port, f"pget -n {n} {name} -o {out}", size))
                )
            clients.append(
                (
                    "rclone copyto --multi-thread-streams 4",
                    lambda out: run_command(
                        ["rclone", "copyto", "-q", "--retries", "1", "--multi-thread-streams", "4",
                         "--multi-thread-cutoff", "1M", self.rclone_for(port) + name, str(out)],
                        size,
                    ),
                )
            )
        else:
            clients.append(
                (
                    "rclone copyto",
                    lambda out: run_command(
                        ["rclone", "copyto", "-q", "--retries", "1", "--multi-thread-streams", "0",
                         self.rclone_for(port) + name, str(out)],
                        size,
                    ),
                )
            )

        def retr(mod):
            def run(out):
                def body(ftp):
                    with open(out, "wb") as f:
                        ftp.retrbinary(f"RETR {name}", f.write)

                return self.in_process(mod, port, body, size)

            return run

        clients.append(("ftplib retrbinary(fp.write)", retr(ftplib)))
        if not wan:
            clients.append(("rftplib retrbinary(fp.write)", retr(rftplib) if rftplib else None))
        for n in (1, 4, 8) if wan else (1,):
            label = "rftplib download()" if n == 1 else f"rftplib download(connections={n})"

            def dl(out, n=n):
                return self.in_process(rftplib, port, lambda ftp: ftp.download(name, str(out), connections=n), size)

            clients.append((label, dl if has(rftplib, "download") else None))
        return clients

    def rclone_for(self, port):
        return self.rclone.replace(f"port={self.srv.port}", f"port={port}")

    def upload_clients(self, port, src, size):
        """(label, fn(remote_name) -> Run)."""

        def stor(remote):
            def body(ftp):
                with open(src, "rb") as f:
                    ftp.storbinary(f"STOR {remote}", f)

            return self.in_process(ftplib, port, body, size)

        def up(remote):
            return self.in_process(rftplib, port, lambda ftp: ftp.upload(str(src), remote), size)

        def raw_sendfile(ftp, remote, start, end):
            # The least a client can do: the control dialogue, then the kernel
            # moves the file's pages to the socket.
            ftp.voidcmd("TYPE I")
            with ftp.transfercmd(f"STOR {remote}") as conn, open(src, "rb") as f:
                conn.settimeout(None)
                while start < end:
                    start += os.sendfile(conn.fileno(), f.fileno(), start, end - start)
            ftp.voidresp()

        def floor(remote):
            return self.in_process(ftplib, port, lambda ftp: raw_sendfile(ftp, remote, 0, size), size)

        def floor_write(remote):
            # The file mapped and sent with write() in 1 MiB blocks: over
            # loopback what costs the server least per byte.
            def body(ftp):
                ftp.voidcmd("TYPE I")
                with (
                    ftp.transfercmd(f"STOR {remote}") as conn,
                    open(src, "rb") as f,
                    mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ) as m,
                ):
                    conn.settimeout(None)
                    view = memoryview(m)
                    for at in range(0, size, MiB):
                        conn.sendall(view[at : at + MiB])
                    view.release()
                ftp.voidresp()

            return self.in_process(ftplib, port, body, size)

        def two_sessions(remote):
            # Two sessions, each storing one half to a file of its own: what
            # the server reaches in total over two connections (not a client:
            # the halves are not joined).
            import threading

            def half(i):
                ftp = self.session(ftplib, port)
                try:
                    raw_sendfile(ftp, f"{remote}.{i}", i * size // 2, (i + 1) * size // 2)
                    ftp.quit()
                finally:
                    ftp.close()

            def both():
                threads = [threading.Thread(target=half, args=(i,)) for i in range(2)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()

            return measure(both, size)

        return [
            ("curl -T", lambda r: run_command(["curl", "-sS", "--fail", "-T", str(src), self.url(port, r)], size)),
            ("lftp put", lambda r: self.lftp(port, f"put {src} -o {r}", size)),
            ("ftplib storbinary", stor),
            ("rftplib upload()", up if has(rftplib, "upload") else None),
            ("least client work: sendfile, one raw data connection", floor),
            ("least server work: write() 1 MiB blocks of the mapped file, one raw data connection", floor_write),
            ("2 sessions × half, sendfile (total, measurement)", two_sessions),
        ]

    # -- workloads ---------------------------------------------------------------------

    def downloads(self, workload, port, name, size, digest, wan, keep=None):
        clients = [
            c
            for c in self.download_clients(port, name, size, wan)
            if self.wanted(c[0]) and (keep is None or c[0] in keep)
        ]
        rows = {label: Row(workload, label, "MB/s") for label, _ in clients}
        for rep in range(self.args.reps):
            for label, fn in rotate(clients, rep):
                row = rows[label]
                if fn is None:
                    continue
                out = self.out / f"got-{rep}.bin"
                self.clean_outputs()
                if not wan:
                    touch_memory(size)
                self.settle()
                try:
                    run = fn(out)
                    check_file(out, digest)
                    row.runs.append(run)
                    status = f"{size / run.wall / 1e6:8.1f} MB/s"
                except (ClientFailed, *all_errors()) as e:
                    row.failures.append(describe(e))
                    status = f"FAILED {describe(e)}"
                self.log(f"{workload:13} rep {rep + 1} {label:40} {status}")
        self.clean_outputs()
        return [rows[label] for label, _ in clients]

    def uploads(self, port, size):
        src = self.out / "upload-src.bin"
        digest = make_file(src, size, seed=7)
        clients = [c for c in self.upload_clients(port, src, size) if self.wanted(c[0])]
        rows = {label: Row("put", label, "MB/s") for label, _ in clients}
        for rep in range(self.args.reps):
            for label, fn in rotate(clients, rep):
                if fn is None:
                    continue
                remote = f"up-{rep}.bin"
                target = self.root / remote
                halves = [self.root / f"{remote}.{i}" for i in range(2)]
                target.unlink(missing_ok=True)
                touch_memory(size)
                self.settle()
                try:
                    with ServerCpu([self.srv]) as server:
                        run = fn(remote)
                    if halves[0].exists():
                        got = sum(h.stat().st_size for h in halves)
                        if got != size:
                            raise ClientFailed(f"the halves hold {got} bytes, not {size}")
                    else:
                        check_file(target, digest)
                    rows[label].runs.append(run)
                    rows[label].extra.setdefault("server", []).append((server.seconds, run.wall))
                    status = (
                        f"{size / run.wall / 1e6:8.1f} MB/s, vsftpd {server.seconds / (size / GiB):.2f} "
                        f"CPU-s/GiB, busy {server.seconds / run.wall:.0%}"
                    )
                except (ClientFailed, *all_errors()) as e:
                    rows[label].failures.append(describe(e))
                    status = f"FAILED {describe(e)}"
                target.unlink(missing_ok=True)
                for h in halves:
                    h.unlink(missing_ok=True)
                self.log(f"{'put':13} rep {rep + 1} {label:40} {status}")
        src.unlink()
        return [rows[label] for label, _ in clients]

    def noops(self):
        n = self.args.noops
        clients = [("ftplib", ftplib), ("rftplib", rftplib)]
        rows = {label: Row("noop", label, "ops/s") for label, _ in clients}
        # A NOOP loop takes well under a second, and its rate depends on whether
        # client and server share a core (about 4x apart on two shared cores):
        # three times the repetitions give steadier medians.
        for rep in range(self.args.reps * 3):
            for label, mod in rotate(clients, rep):
                if mod is None:
                    continue
                ftp = self.session(mod, self.srv.port)
                try:
                    self.settle()
                    run = measure(lambda ftp=ftp: [ftp.voidcmd("NOOP") for _ in range(n)], n)
                    ftp.quit()
                finally:
                    ftp.close()
                rows[label].runs.append(run)
                self.log(f"{'noop':13} rep {rep + 1} {label:40} {n / run.wall:8.0f} /s")
        return list(rows.values())

    # -- helpers ---------------------------------------------------------------------------

    def wanted(self, label):
        if not self.args.clients:
            return True
        squeezed = label.replace(" ", "")
        return any(c.replace(" ", "") in squeezed for c in self.args.clients.split(",") if c.strip())

    def clean_outputs(self):
        for p in self.out.iterdir():
            if p.name.startswith("got-"):
                p.unlink()

    def settle(self):
        self.srv.wait_idle()
        time.sleep(0.2)

    def log(self, text):
        if not self.args.quiet:
            print(text, flush=True)


def wan_tls(args, root, digest, size):
    """FTPS through the relay's pass-through mode: vsftpd listens on 127.0.0.2 and
    announces 127.0.0.1, where the relay listens on the whole passive range."""
    from vsftpd import ReusingFTP_TLS
    from wanrelay import _OtherAddressVsftpd

    rows = []
    with _OtherAddressVsftpd(root, tls="explicit", require_ssl_reuse=True) as srv:
        relay = RelayProcess(("127.0.0.2", srv.port), args.rtt_ms / 1000, args.cap_mbps * 1e6, data_ports=srv.pasv_range)
        with relay:
            out = root.parent / "client" / "tls-got.bin"
            out.parent.mkdir(exist_ok=True)
            url = f"ftp://{srv.user}:{srv.password}@127.0.0.1:{relay.port}/wan.bin"

            def py(cls, body):
                def go():
                    ftp = cls(context=srv.client_context(), timeout=TIMEOUT)
                    ftp.connect("127.0.0.1", relay.port)
                    ftp.login(srv.user, srv.password)
                    ftp.prot_p()
                    try:
                        body(ftp)
                        ftp.quit()
                    finally:
                        ftp.close()

                return lambda: measure(go, size)

            def retr(ftp):
                with open(out, "wb") as f:
                    ftp.retrbinary("RETR wan.bin", f.write)

            clients = [
                ("curl --ssl-reqd", lambda: run_command(
                    ["curl", "-sS", "--fail", "--ssl-reqd", "--cacert", str(srv.certfile), "-o", str(out), url], size)),
                ("ftplib FTP_TLS retrbinary (session reuse)", py(ReusingFTP_TLS, retr)),
            ]
            if has(rftplib, "download"):
                for n in (1, 4):
                    clients.append((
                        f"rftplib FTP_TLS download(connections={n})",
                        py(rftplib.FTP_TLS, lambda ftp, n=n: ftp.download("wan.bin", str(out), connections=n)),
                    ))
            table = {label: Row("wan-tls", label, "MB/s") for label, _ in clients}
            for rep in range(args.reps):
                for label, fn in rotate(clients, rep):
                    out.unlink(missing_ok=True)
                    srv.wait_idle()
                    time.sleep(0.2)
                    try:
                        run = fn()
                        check_file(out, digest)
                        table[label].runs.append(run)
                        status = f"{size / run.wall / 1e6:8.1f} MB/s"
                    except (ClientFailed, *all_errors()) as e:
                        table[label].failures.append(describe(e))
                        status = f"FAILED {describe(e)}"
                    if not args.quiet:
                        print(f"{'wan-tls':13} rep {rep + 1} {label:40} {status}", flush=True)
            out.unlink(missing_ok=True)
            rows += table.values()
    return rows


def server_per_gib(row):
    runs = row.extra.get("server")
    if not runs:
        return ""
    amount = row.runs[0].amount / GiB
    return f"{statistics.median(cpu for cpu, _ in runs) / amount:.2f}"


def server_busy(row):
    runs = row.extra.get("server")
    if not runs:
        return ""
    return f"{statistics.median(cpu / wall for cpu, wall in runs):.0%}"


def has(mod, name):
    return mod is not None and hasattr(mod.FTP, name)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--only", help=f"comma-separated: {', '.join(WORKLOADS)}")
    p.add_argument("--clients", help="comma-separated substrings of client labels (spaces ignored)")
    p.add_argument("--size", type=int, default=1024, help="MiB for get/put (default 1024)")
    p.add_argument("--wan-size", type=int, default=256, help="MiB through the relay (default 256)")
    p.add_argument("--rtt-ms", type=float, default=20.0)
    p.add_argument("--cap-mbps", type=float, default=20.0, help="MB/s per connection for 'wan'")
    p.add_argument("--noops", type=int, default=1000)
    p.add_argument("--quiet", action="store_true", help="only the table")
    args = p.parse_args(argv)
    only = args.only.split(",") if args.only else list(WORKLOADS)
    unknown = set(only) - set(WORKLOADS) - set(OPTIONAL)
    if unknown:
        p.error(f"unknown workload(s): {', '.join(sorted(unknown))}")
    if rftplib is None:
        print("note: rftplib is not importable; its rows say n/a", file=sys.stderr)

    size, wan_size = args.size * MiB, args.wan_size * MiB
    rows = []
    with tempfile.TemporaryDirectory(dir="/dev/shm", prefix="bench-transfers-") as tmp:
        work = Path(tmp)
        root = work / "root"
        root.mkdir()
        digests = {}
        if {"get", "put"} & set(only):
            digests["big.bin"] = make_file(root / "big.bin", size, seed=1)
        if {"wan", "wan-uncapped", "wan-tls"} & set(only):
            digests["wan.bin"] = make_file(root / "wan.bin", wan_size, seed=2)
        with Vsftpd(root) as srv:
            bench = Bench(args, srv, work)
            print(machine_line())
            print("  ".join(f"{k}: {v}" for k, v in tool_versions().items()))
            if rftplib is not None:
                print(f"rftplib {rftplib.__file__}")
            if "get" in only:
                rows += bench.downloads("get", srv.port, "big.bin", size, digests["big.bin"], wan=False)
            if "put" in only:
                rows += bench.uploads(srv.port, size)
            if "wan" in only:
                with RelayProcess((srv.host, srv.port), args.rtt_ms / 1000, args.cap_mbps * 1e6) as relay:
                    rows += bench.downloads("wan", relay.port, "wan.bin", wan_size, digests["wan.bin"], wan=True)
            if "wan-uncapped" in only:
                with RelayProcess((srv.host, srv.port), args.rtt_ms / 1000, None) as relay:
                    rows += bench.downloads(
                        "wan-uncapped", relay.port, "wan.bin", wan_size, digests["wan.bin"],
                        wan=False, keep=("curl", "rftplib download()"),
                    )
            if "noop" in only:
                rows += bench.noops()
        if "wan-tls" in only:
            rows += wan_tls(args, root, digests["wan.bin"], wan_size)
    ref = {"get": "curl", "put": "curl -T", "wan": "curl", "wan-uncapped": "curl", "noop": "ftplib", "wan-tls": "curl --ssl-reqd"}
    print_table(
        rows,
        ref,
        f"Transfers: get/put {args.size} MiB on 127.0.0.1 (vsftpd, /dev/shm); wan {args.wan_size} MiB at "
        f"{args.rtt_ms:g} ms RTT, cap {args.cap_mbps:g} MB/s per connection; medians of {args.reps}; "
        f"ratio vs curl (noop: vs ftplib); server: vsftpd's CPU per GiB and its CPU over the wall time "
        f"(100% = one core busy throughout)",
        extra_cols=[("server CPU s/GiB", server_per_gib), ("server busy", server_busy)],
    )
    return 1 if any(r.failures for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
