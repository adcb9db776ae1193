#!/usr/bin/env python3
"""Copying a tree of small files: lftp, rclone, ftplib/rftplib walk scripts, rftplib mirror().

    python benches/bench_mirror.py                   # local and WAN, 3 repetitions
    python benches/bench_mirror.py --only local --reps 5
    python benches/bench_mirror.py --only wan --wan-files 200 --reps 1

Workloads (``--only``):
  local   ``--files`` (2,000) files of 1–64 KiB in ``--dirs`` (20) folders, vsftpd on
          127.0.0.1, to a local directory on /dev/shm
  wan     ``--wan-files`` (500) in ``--wan-dirs`` (10) folders through benches/wanrelay.py
          at ``--rtt-ms`` (20), no bandwidth cap

Clients: lftp ``mirror`` (and ``--parallel=4``/``8``), rclone ``copy --transfers 4``/``8``,
a script that walks the tree with LIST and fetches each file with
``retrbinary`` (the very same code on ftplib and on rftplib), and rftplib
``mirror(connections=1/4/8)``.

Floor rows (``floor: N session(s)``): the least a client can do against this
server, to bound what any client can reach. It knows the file names (no
listing at all), sends every ``PASV``+``RETR`` of a session in one write as
soon as it is logged in (vsftpd reads commands one at a time, between
transfers, so they wait their turn), and for each file only connects,
writes the bytes to the file and reads the replies: no parsing beyond the
passive port, no checks. vsftpd answers a request only after the previous
transfer's ``226``, which it sends once its last data is acknowledged, so
even this client spends a round trip and a half on each file's data
connection and one more between files.

Besides files per second, the table gives the FTP commands each client sends
per file, counted by the relay: in the WAN rows from the timed runs, in the
local rows from one extra, untimed run through a relay without delay. WAN
rows also give the round trips each file costs one session ("RTT/file":
the wall time times the sessions the client runs in parallel, per file, in
RTTs).
Every run starts from an empty target and its result is checked file by file
(sha256 of every file, and no file missing or extra). Clients alternate in a
rotating order; medians of ``--reps``.
"""

from __future__ import annotations

import argparse
import ftplib
import hashlib
import os
import random
import re
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from common import (
    ClientFailed,
    RelayProcess,
    Row,
    all_errors,
    describe,
    machine_line,
    measure,
    print_table,
    rclone_remote,
    rotate,
    run_command,
    tool_versions,
)
from vsftpd import Vsftpd

try:
    import rftplib
except ImportError:
    rftplib = None

TIMEOUT = 120


def make_tree(root, files, dirs, seed):
    """``files`` files of 1–64 KiB spread over ``dirs`` folders; {relpath: sha256}."""
    rnd = random.Random(seed)
    pool = rnd.randbytes(64 * 1024 + 4096)
    digests = {}
    for i in range(files):
        d = f"dir{i % dirs:02d}"
        (root / d).mkdir(parents=True, exist_ok=True)
        size = rnd.randint(1024, 64 * 1024)
        start = rnd.randint(0, 4096)
        data = pool[start : start + size - 8] + i.to_bytes(8, "big")  # every file unique
        rel = f"{d}/file{i:05d}.bin"
        (root / rel).write_bytes(data)
        digests[rel] = hashlib.sha256(data).hexdigest()
    return digests


def check_tree(target, digests):
    found = {}
    for dirpath, _, filenames in os.walk(target):
        for name in filenames:
            path = Path(dirpath) / name
            rel = path.relative_to(target).as_posix()
            found[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    missing = set(digests) - set(found)
    extra = set(found) - set(digests)
    wrong = [rel for rel in digests.keys() & found.keys() if digests[rel] != found[rel]]
    if missing or extra or wrong:
        raise ClientFailed(
            f"WRONG TREE: {len(missing)} missing, {len(extra)} extra "
            f"({sorted(extra)[:2]}), {len(wrong)} with wrong bytes"
        )


def walk_script(mod, host, port, user, password, source, target):
    """What an ftplib user writes: LIST each folder, recurse, RETR each file."""
    ftp = mod.FTP(timeout=TIMEOUT)
    ftp.connect(host, port)
    ftp.login(user, password)
    try:

        def fetch(remote, local):
            local.mkdir(parents=True, exist_ok=True)
            lines = []
            ftp.retrlines(f"LIST {remote}", lines.append)
            for line in lines:
                parts = line.split(None, 8)
                if len(parts) < 9 or parts[8] in (".", ".."):
                    continue
                name = parts[8]
                if line.startswith("d"):
                    fetch(f"{remote}/{name}", local / name)
                elif line.startswith("-"):
                    with open(local / name, "wb") as f:
                        ftp.retrbinary(f"RETR {remote}/{name}", f.write)

        fetch(source, Path(target))
        ftp.quit()
    finally:
        ftp.close()


def _reply(f):
    """One reply (multi-line ones whole) from the control file ``f``."""
    line = f.readline()
    if not line:
        raise ClientFailed("the server closed the control connection")
    if line[3:4] == b"-":
        code = line[:3]
        while True:
            more = f.readline()
            if not more or (more[:3] == code and more[3:4] == b" "):
                break
    return line


def floor_client(host, port, user, password, source, target, names, sessions):
    """The floor rows: ``sessions`` sessions, the names known, all requests
    queued at once, each file only connected to and written out."""

    def one(names):
        ctl = socket.create_connection((host, port), timeout=TIMEOUT)
        f = ctl.makefile("rb")
        _reply(f)
        ctl.sendall(f"USER {user}\r\nPASS {password}\r\nTYPE I\r\n".encode())
        for _ in range(3):
            _reply(f)
        ctl.sendall(b"".join(f"PASV\r\nRETR {source}/{name}\r\n".encode() for name in names))
        for name in names:
            r = _reply(f)
            if not r.startswith(b"227"):
                raise ClientFailed(f"floor: {r!r}")
            nums = r.split(b"(", 1)[1].split(b")", 1)[0].split(b",")
            data = socket.create_connection((host, int(nums[4]) * 256 + int(nums[5])), timeout=TIMEOUT)
            if not _reply(f).startswith(b"150"):
                raise ClientFailed(f"floor: no 150 for {name}")
            path = target / name
            with open(path, "wb") as out:
                while True:
                    chunk = data.recv(1 << 20)
                    if not chunk:
                        break
                    out.write(chunk)
            data.close()
            if not _reply(f).startswith(b"226"):
                raise ClientFailed(f"floor: no 226 for {name}")
        ctl.sendall(b"QUIT\r\n")
        _reply(f)
        ctl.close()

    for d in {Path(n).parent for n in names}:
        (target / d).mkdir(parents=True, exist_ok=True)
    errors = []

    def guarded(part):
        try:
            one(part)
        except (OSError, ClientFailed, ValueError, IndexError) as e:  # a failed run
            errors.append(e)

    threads = [threading.Thread(target=guarded, args=(names[i::sessions],)) for i in range(sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise ClientFailed(f"floor: {errors[0]!r}")


class Bench:
    def __init__(self, args, srv, work):
        self.args = args
        self.srv = srv
        self.work = work

    def clients(self, port, source, target, names=()):
        srv = self.srv
        lftp_open = (
            "set cmd:fail-exit yes; set net:max-retries 2; set net:timeout 60; set ftp:ssl-allow no; "
            f"open -u {srv.user},{srv.password} -p {port} 127.0.0.1; "
        )
        remote = rclone_remote(srv.host, port, srv.user, srv.password)

        def lftp(parallel):
            opt = f" --parallel={parallel}" if parallel > 1 else ""
            return lambda: run_command(["lftp", "-c", lftp_open + f"mirror{opt} {source} {target}"], 0)

        def rclone(n):
            return lambda: run_command(
                ["rclone", "copy", "-q", "--retries", "1", "--transfers", str(n), remote + source, str(target)], 0
            )

        def walk(mod):
            if mod is None:
                return None
            return lambda: measure(
                lambda: walk_script(mod, "127.0.0.1", port, srv.user, srv.password, source, target), 0
            )

        def mirror(n):
            if rftplib is None or not hasattr(rftplib.FTP, "mirror"):
                return None

            def go():
                ftp = rftplib.FTP(timeout=TIMEOUT)
                ftp.connect("127.0.0.1", port)
                ftp.login(srv.user, srv.password)
                try:
                    result = ftp.mirror(source, str(target), connections=n)
                    ftp.quit()
                finally:
                    ftp.close()
                if result.failed:
                    raise ClientFailed(f"mirror reported failures: {result.failed[:2]}")

            return lambda: measure(go, 0)

        def floor(n):
            names = sorted(names_)
            return lambda: measure(
                lambda: floor_client("127.0.0.1", port, srv.user, srv.password, source, target, names, n), 0
            )

        names_ = names
        return [
            ("lftp mirror", lftp(1)),
            ("lftp mirror --parallel=4", lftp(4)),
            ("lftp mirror --parallel=8", lftp(8)),
            ("rclone copy --transfers 4", rclone(4)),
            ("rclone copy --transfers 8", rclone(8)),
            ("ftplib LIST walk + retrbinary", walk(ftplib)),
            ("rftplib LIST walk + retrbinary", walk(rftplib)),
            ("rftplib mirror(connections=1)", mirror(1)),
            ("rftplib mirror(connections=4)", mirror(4)),
            ("rftplib mirror(connections=8)", mirror(8)),
            ("floor: 1 session", floor(1)),
            ("floor: 8 sessions", floor(8)),
        ]

    def run(self, workload, source, digests, relay=None, counter=None, reps=None):
        """Timed runs (directly, or through ``relay``); commands counted through
        ``relay`` itself or, for local runs, an untimed run through ``counter``."""
        nfiles = len(digests)
        target = self.work / "target"
        port = relay.port if relay else self.srv.port
        clients = [c for c in self.clients(port, source, target, digests) if self.wanted(c[0])]
        rows = {label: Row(workload, label, "files/s") for label, _ in clients}
        for rep in range(reps or self.args.reps):
            for label, fn in rotate(clients, rep):
                if fn is None:
                    continue
                shutil.rmtree(target, ignore_errors=True)
                self.settle()
                if relay:
                    relay.reset()
                try:
                    run = fn()
                    run.amount = nfiles
                    check_tree(target, digests)
                    rows[label].runs.append(run)
                    if relay:
                        cmds, conns = relay.counts()
                        rows[label].extra.setdefault("cmds", []).append(sum(cmds.values()) / nfiles)
                        rows[label].extra.setdefault("conns", []).append(conns)
                    status = f"{nfiles / run.wall:8.1f} files/s"
                except (ClientFailed, *all_errors()) as e:
                    rows[label].failures.append(describe(e))
                    status = f"FAILED {describe(e)}"
                self.log(f"{workload:6} rep {rep + 1} {label:34} {status}")
        if counter is not None:
            cclients = dict(self.clients(counter.port, source, target, digests))
            for label, _ in clients:
                fn = cclients[label]
                if fn is None:
                    continue
                shutil.rmtree(target, ignore_errors=True)
                self.settle()
                counter.reset()
                try:
                    fn()
                    cmds, conns = counter.counts()
                    rows[label].extra["cmds"] = [sum(cmds.values()) / nfiles]
                    rows[label].extra["conns"] = [conns]
                    rows[label].extra["verbs"] = cmds
                except (ClientFailed, *all_errors()) as e:
                    self.log(f"{workload:6} counting run of {label}: {describe(e)}")
        shutil.rmtree(target, ignore_errors=True)
        return [rows[label] for label, _ in clients]

    def wanted(self, label):
        if not self.args.clients:
            return True
        squeezed = label.replace(" ", "")
        return any(c.replace(" ", "") in squeezed for c in self.args.clients.split(",") if c.strip())

    def settle(self):
        self.srv.wait_idle()
        time.sleep(0.2)

    def log(self, text):
        if not self.args.quiet:
            print(text, flush=True)


def cmds_col(row):
    c = row.extra.get("cmds")
    return f"{sorted(c)[len(c) // 2]:.1f}" if c else "-"


def sessions_of(label):
    """How many sessions a client runs in parallel, from its label."""
    m = re.search(r"(?:parallel=|transfers |connections=|floor: )(\d+)", label)
    return int(m.group(1)) if m else 1


def rtt_col(rtt, files):
    def col(row):
        if row.workload != "wan" or not row.runs:
            return "-"
        wall = statistics.median(r.wall for r in row.runs)
        return f"{wall * sessions_of(row.client) / files / rtt:.2f}"

    return col


def conns_col(row):
    c = row.extra.get("conns")
    return f"{sorted(c)[len(c) // 2]}" if c else "-"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--only", help="local, wan (default both)")
    p.add_argument("--clients", help="comma-separated substrings of client labels (spaces ignored)")
    p.add_argument("--wan-reps", type=int, default=None, help="repetitions through the relay (default: --reps)")
    p.add_argument("--files", type=int, default=2000)
    p.add_argument("--dirs", type=int, default=20)
    p.add_argument("--wan-files", type=int, default=500)
    p.add_argument("--wan-dirs", type=int, default=10)
    p.add_argument("--rtt-ms", type=float, default=20.0)
    p.add_argument("--no-count", action="store_true", help="skip the untimed command-counting runs (local)")
    p.add_argument("--verbs", action="store_true", help="print the commands each client sent (local counting runs)")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)
    only = args.only.split(",") if args.only else ["local", "wan"]
    rows = []
    with tempfile.TemporaryDirectory(dir="/dev/shm", prefix="bench-mirror-") as tmp:
        work = Path(tmp)
        root = work / "root"
        root.mkdir()
        local_digests = make_tree(root / "tree", args.files, args.dirs, seed=1) if "local" in only else None
        wan_digests = make_tree(root / "wantree", args.wan_files, args.wan_dirs, seed=2) if "wan" in only else None
        with Vsftpd(root) as srv:
            print(machine_line())
            print("  ".join(f"{k}: {v}" for k, v in tool_versions().items()))
            bench = Bench(args, srv, work)
            if "local" in only:
                if args.no_count:
                    rows += bench.run("local", "tree", local_digests)
                else:
                    with RelayProcess((srv.host, srv.port), 0.0) as counter:
                        rows += bench.run("local", "tree", local_digests, counter=counter)
            if "wan" in only:
                with RelayProcess((srv.host, srv.port), args.rtt_ms / 1000) as relay:
                    rows += bench.run("wan", "wantree", wan_digests, relay=relay, reps=args.wan_reps)
    ref = {"local": "lftp mirror --parallel=4", "wan": "rclone copy --transfers 4"}
    print_table(
        rows,
        ref,
        f"Trees: local {args.files} files (1–64 KiB, {args.dirs} folders) from vsftpd on 127.0.0.1 to /dev/shm; "
        f"wan {args.wan_files} files ({args.wan_dirs} folders) at {args.rtt_ms:g} ms RTT; "
        f"medians of {args.reps} (wan: {args.wan_reps or args.reps}); "
        f"ratio vs lftp --parallel=4 (local) and rclone --transfers 4 (wan)",
        extra_cols=(
            ("cmds/file", cmds_col),
            ("RTT/file", rtt_col(args.rtt_ms / 1000, args.wan_files)),
            ("conns", conns_col),
        ),
    )
    if args.verbs:
        for row in rows:
            if "verbs" in row.extra:
                print(f"{row.workload} {row.client}: {row.extra['verbs']}")
    return 1 if any(r.failures for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
