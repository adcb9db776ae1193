"""The network side of benches/bench_fsspec.py: the WAN relay in a process
of its own, a counting relay without delay (for commands per file), and the
wait for TIME_WAIT sockets to drain between timed runs."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TIME_WAIT_LIMIT = 8000  # see calm_ports


def time_wait():
    """TCP sockets in TIME_WAIT on this machine (/proc/net/sockstat), or 0."""
    try:
        with open("/proc/net/sockstat") as f:
            for line in f:
                if line.startswith("TCP:"):
                    fields = line.split()
                    return int(fields[fields.index("tw") + 1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def calm_ports(limit=TIME_WAIT_LIMIT, patience=75.0):
    """Wait (up to ``patience`` s) until fewer than ``limit`` sockets are in
    TIME_WAIT. Every file is a data connection, and each lingers 60 s after
    it closes: a run makes tens of thousands, and once they fill much of the
    ephemeral port range (28,232 ports here), connect() and the server's
    bind() of a passive port search long or fail, and a cell crawls (91
    files/s instead of 1,200) for whichever client ran then."""
    deadline = time.monotonic() + patience
    while time_wait() > limit and time.monotonic() < deadline:
        time.sleep(0.5)



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


class CountingRelay:
    """WanRelay without delay in this process, for commands per file (--count).
    Urgent bytes kept in line, as in Relay."""

    def __init__(self, port):
        from wanrelay import WanRelay

        self.relay = WanRelay(("127.0.0.1", port), rtt=0.0)

    def __enter__(self):
        self._accept = socket.socket.accept

        def accept(sock):
            conn, addr = self._accept(sock)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_OOBINLINE, 1)
            return conn, addr

        socket.socket.accept = accept
        self.relay.__enter__()
        self.port = self.relay.port
        return self

    def counts(self):
        return dict(self.relay.commands)

    def __exit__(self, *exc):
        self.relay.__exit__(*exc)
        socket.socket.accept = self._accept
