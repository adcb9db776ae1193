"""The "floor" client of benches/bench_fsspec.py: the least work a client can
make an FTP server do for each fsspec workload, so that the table shows what
rate the SERVER allows at all.

Raw sockets, no library: each session logs in and sends TYPE I before the
clock starts; then per file only PASV and RETR (REST + RETR for a range,
sent together after the 227), the data read into one reusable buffer and
dropped, the data connection closed after exactly the bytes wanted (one
reply for a cut transfer, no ABOR), and NLST (names only) for a listing.
Workloads that touch many files run on as many sessions as rftp:// uses, in
threads. Nothing is written to disk and nothing is checked but byte counts:
a rate no fsspec client can beat against the same server.
"""

from __future__ import annotations

import re
import socket
import threading

_PASV_RE = re.compile(r"(\d+),(\d+),(\d+),(\d+),(\d+),(\d+)")
_BUF = 1 << 20


class FloorError(Exception):
    pass


class Session:
    def __init__(self, host, port, user, password, timeout=30):
        self.host = host
        self.sock = socket.create_connection((host, port), timeout)
        self.file = self.sock.makefile("rb")
        self.buf = bytearray(_BUF)
        self.view = memoryview(self.buf)
        self.reply("2")
        self.send(f"USER {user}")
        if self.reply("23").startswith("331"):
            self.send(f"PASS {password}")
            self.reply("2")
        self.send("TYPE I")
        self.reply("2")

    def send(self, *lines):
        self.sock.sendall("".join(f"{line}\r\n" for line in lines).encode())

    def reply(self, want):
        line = self.file.readline().decode("latin-1")
        if line[3:4] == "-":
            code = line[:3]
            while True:
                more = self.file.readline().decode("latin-1")
                if not more:
                    break
                if more[:3] == code and more[3:4] == " ":
                    break
        if not line or line[:1] not in want:
            raise FloorError(f"unexpected reply {line.strip()!r}")
        return line

    def _pasv(self):
        self.send("PASV")
        m = _PASV_RE.search(self.reply("2"))
        nums = [int(x) for x in m.groups()]
        return ".".join(map(str, nums[:4])), nums[4] * 256 + nums[5]

    def _data(self, *commands):
        _, port = self._pasv()
        self.send(*commands)
        conn = socket.create_connection((self.host, port))
        for _ in commands[:-1]:
            self.reply("3")  # 350 to REST
        self.reply("1")
        return conn

    def retr(self, path, rest=0, length=None):
        """Bytes received of ``path`` from ``rest``: all, or ``length``."""
        cmds = ([f"REST {rest}"] if rest else []) + [f"RETR {path}"]
        conn = self._data(*cmds)
        got, view = 0, self.view
        try:
            while length is None or got < length:
                want = _BUF if length is None else min(_BUF, length - got)
                n = conn.recv_into(view[:want])
                if not n:
                    break
                got += n
        finally:
            conn.close()
        # 226, or 426/451 for a transfer cut short
        self.reply("245")
        return got

    def nlst(self, path):
        conn = self._data(f"NLST {path}")
        chunks = []
        try:
            while chunk := conn.recv(_BUF):
                chunks.append(chunk)
        finally:
            conn.close()
        self.reply("2")
        names = b"".join(chunks).decode("utf-8", "replace").split()
        return [n if n.startswith("/") else f"{path}/{n}" for n in names]

    def close(self):
        try:
            self.send("QUIT")
            self.reply("2")
        except (OSError, FloorError):
            pass
        self.file.close()
        self.sock.close()


class Floor:
    """The floor "filesystem": ``sessions`` logged-in sessions made at once."""

    def __init__(self, host, port, user, password, sessions=4):
        self.addr = (host, port, user, password)
        self.sessions = [Session(*self.addr) for _ in range(sessions)]

    def run(self, jobs, fn):
        """``fn(session, job)`` for every job, the jobs shared by all sessions;
        the sum of the results."""
        jobs = list(jobs)
        lock = threading.Lock()
        totals, errors = [], []

        def worker(session):
            total = 0
            try:
                while True:
                    with lock:
                        if not jobs:
                            break
                        job = jobs.pop()
                    total += fn(session, job)
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            totals.append(total)

        threads = [threading.Thread(target=worker, args=(s,)) for s in self.sessions]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        return sum(totals)

    def close(self):
        for s in self.sessions:
            s.close()
