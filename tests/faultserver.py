"""A scripted fake FTP server for faults a real server will not produce.

    script = [
        (None, ["220 hello"]),                  # sent as soon as the client connects
        ("USER", ["331 password please"]),      # expected command prefix -> actions
        ("PASS", ["230 in"]),
        ("TYPE I", ["200 binary"]),
        ("PASV", [Pasv()]),
        ("RETR f", ["150 here it comes", Accept(), DataSend(b"abc"), DataReset(),
                    "226 all good (a lie)"]),
    ]
    with FaultServer(script) as srv:
        ftp = ftplib.FTP()
        ftp.connect(srv.host, srv.port)
        ...
    srv.commands   # every command line the client sent, in order

Each step waits for one command line that starts with the expected prefix
(``None``: no command, run the actions at once), then runs its actions in
order. A ``str`` action is one reply line, sent with CRLF appended, encoded
as UTF-8; a ``bytes`` action is sent exactly as given (for broken line
endings, invalid UTF-8, partial lines). The other actions are the classes
below. When the script is done, QUIT is answered with 221 and anything else
with 500 and recorded as an error. A command that does not match its step is
an error too; errors (and exceptions in the server thread) are raised by
``__exit__`` unless the test is already failing.

One control connection per server. No pytest here.
"""

from __future__ import annotations

import socket
import struct
import threading
import time

__all__ = [
    "Accept",
    "Close",
    "DataClose",
    "DataRecv",
    "DataReset",
    "DataSend",
    "DataSendForever",
    "Epsv",
    "FaultServer",
    "Pasv",
    "PortConnect",
    "Reset",
    "ScriptError",
    "Sleep",
    "WaitForClose",
]

IO_TIMEOUT = 10.0  # longest any single server-side wait may take
POLL = 0.05


class ScriptError(AssertionError):
    pass


class _Stopped(Exception):
    """The server is being stopped."""


# -- actions -----------------------------------------------------------------


class Pasv:
    """Listen for a data connection and answer ``227 (h1,h2,h3,h4,p1,p2)``.

    ``listen`` is the address the data socket binds; ``advertise`` the one
    written in the reply (default: the same), so a test can announce an
    address the client should ignore.
    """

    def __init__(
        self, listen="127.0.0.1", advertise=None, text="Entering Passive Mode"
    ):
        self.listen = listen
        self.advertise = advertise or listen
        self.text = text

    def run(self, srv):
        port = srv._listen_data(socket.AF_INET, self.listen)
        h = self.advertise.replace(".", ",")
        srv._send_line(f"227 {self.text} ({h},{port >> 8},{port & 0xFF}).")


class Epsv:
    """Listen for a data connection on the control connection's address family
    and answer ``229 Entering Extended Passive Mode (|||port|)``."""

    def run(self, srv):
        port = srv._listen_data(srv.family, srv.host)
        srv._send_line(f"229 Entering Extended Passive Mode (|||{port}|)")


class PortConnect:
    """Connect to the address of the last PORT/EPRT command (active mode)."""

    def run(self, srv):
        last = next(c for c in reversed(srv.commands) if c[:4] in ("PORT", "EPRT"))
        if last.startswith("PORT"):
            parts = [int(x) for x in last[5:].split(",")]
            addr = (".".join(map(str, parts[:4])), parts[4] * 256 + parts[5])
        else:
            delim = last[5]
            _, _, host, port, _ = last[5:].split(delim)
            addr = (host, int(port))
        srv._close_data()
        srv._data = socket.create_connection(addr, timeout=IO_TIMEOUT)


class Accept:
    """Accept the client's data connection on the listener opened by Pasv/Epsv."""

    def run(self, srv):
        if srv._listener is None:
            raise ScriptError("Accept() without a Pasv()/Epsv() before it")
        srv._listener.settimeout(POLL)
        deadline = time.monotonic() + IO_TIMEOUT
        while True:
            srv._check_stopped()
            try:
                conn, _ = srv._listener.accept()
                break
            except socket.timeout:
                if time.monotonic() > deadline:
                    raise ScriptError("the client never opened the data connection")
        srv._close_data()
        srv._data = conn
        srv._listener.close()
        srv._listener = None


class DataSend:
    """Send bytes on the data connection."""

    def __init__(self, data):
        self.data = data

    def run(self, srv):
        srv._data.settimeout(IO_TIMEOUT)
        srv._data.sendall(self.data)


class DataSendForever:
    """Trickle ``chunk`` on the data connection every ``interval`` seconds
    until the client goes away or the server stops: a stalled transfer."""

    def __init__(self, chunk=b"x" * 1024, interval=0.05):
        self.chunk = chunk
        self.interval = interval

    def run(self, srv):
        srv._data.settimeout(IO_TIMEOUT)
        while True:
            srv._check_stopped()
            try:
                srv._data.sendall(self.chunk)
            except OSError:
                return
            time.sleep(self.interval)


class DataRecv:
    """Read the data connection to EOF and append it to ``srv.received``."""

    def run(self, srv):
        srv._data.settimeout(POLL)
        deadline = time.monotonic() + IO_TIMEOUT
        while True:
            srv._check_stopped()
            try:
                chunk = srv._data.recv(65536)
            except socket.timeout:
                if time.monotonic() > deadline:
                    raise ScriptError("the data connection never reached EOF")
                continue
            except ConnectionResetError:
                return
            if not chunk:
                return
            srv.received += chunk


class DataClose:
    """Close the data connection in order (FIN)."""

    def run(self, srv):
        srv._close_data()


class DataReset:
    """Abort the data connection with a TCP RST (SO_LINGER 0, then close)."""

    def run(self, srv):
        _reset(srv._data)
        srv._data = None


class Close:
    """Close the control connection (the client reads EOF)."""

    def run(self, srv):
        srv._close_control()


class Reset:
    """Abort the control connection with a TCP RST."""

    def run(self, srv):
        _reset(srv._conn)
        srv._conn = None


class Sleep:
    def __init__(self, seconds):
        self.seconds = seconds

    def run(self, srv):
        deadline = time.monotonic() + self.seconds
        while time.monotonic() < deadline:
            srv._check_stopped()
            time.sleep(min(POLL, self.seconds))


class WaitForClose:
    """Wait (without reading commands as steps) until the client closes the
    control connection; what it sends meanwhile is recorded in ``commands``."""

    def __init__(self, timeout=IO_TIMEOUT):
        self.timeout = timeout

    def run(self, srv):
        deadline = time.monotonic() + self.timeout
        while srv._read_line(deadline=deadline) is not None:
            pass


def _reset(sock):
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()


# -- the server --------------------------------------------------------------


class FaultServer:
    def __init__(self, script, *, family=socket.AF_INET):
        self.script = list(script)
        self.family = family
        self.host = "::1" if family == socket.AF_INET6 else "127.0.0.1"
        self.port = None
        self.commands = []  # every command line received, decoded as latin-1
        self.received = b""  # what DataRecv read
        self.errors = []  # script mismatches and server-side exceptions
        self.done = False  # every step ran
        self._server = None
        self._conn = None
        self._listener = None
        self._data = None
        self._buf = b""
        self._thread = None
        self._stop = threading.Event()

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, exc_type, exc, tb):
        self.stop()
        if exc_type is None:
            self.check()

    def check(self):
        if self.errors:
            raise ScriptError(
                "fault server: "
                + "; ".join(self.errors)
                + f" (commands: {self.commands})"
            )

    def start(self):
        self._server = socket.create_server((self.host, 0), family=self.family)
        self.port = self._server.getsockname()[1]
        self._thread = threading.Thread(
            target=self._run, name=f"faultserver-{self.port}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(IO_TIMEOUT + 5)
            if self._thread.is_alive():
                self.errors.append("server thread did not stop")
            self._thread = None
        self._close_data()
        self._close_control()
        for sock in (self._listener, self._server):
            if sock is not None:
                sock.close()
        self._listener = self._server = None

    # -- thread --------------------------------------------------------------

    def _run(self):
        try:
            self._accept_control()
            for expected, actions in self.script:
                if expected is not None:
                    line = self._read_line()
                    if line is None:
                        return  # the client left before this step: not an error
                    if not line.startswith(expected):
                        self.errors.append(f"expected {expected!r}, got {line!r}")
                        self._send_line("500 unexpected command (fault server script)")
                        return
                for action in actions:
                    if isinstance(action, str):
                        self._send_line(action)
                    elif isinstance(action, bytes):
                        self._send(action)
                    else:
                        action.run(self)
            self.done = True
            self._after_script()
        except _Stopped:
            pass
        except Exception as e:  # noqa: BLE001 - reported by check(); a thread must not raise
            if not self._stop.is_set() and not isinstance(e, ConnectionError):
                self.errors.append(f"{type(e).__name__}: {e}")

    def _after_script(self):
        while self._conn is not None:
            line = self._read_line()
            if line is None:
                return
            if line.startswith("QUIT"):
                self._send_line("221 Goodbye.")
                self._close_control()
                return
            self.errors.append(f"unexpected {line!r} after the script ended")
            self._send_line("500 unexpected command (fault server script ended)")

    def _check_stopped(self):
        if self._stop.is_set():
            raise _Stopped

    def _accept_control(self):
        self._server.settimeout(POLL)
        while True:
            self._check_stopped()
            try:
                conn, _ = self._server.accept()
                break
            except socket.timeout:
                continue
        # ftplib's abort() sends ABOR as urgent (MSG_OOB) data: read it inline.
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_OOBINLINE, 1)
        conn.settimeout(POLL)
        self._conn = conn

    def _read_line(self, deadline=None):
        """The next command line without CRLF, or None once the client closed."""
        while b"\n" not in self._buf:
            self._check_stopped()
            if self._conn is None:
                return None
            if deadline is not None and time.monotonic() > deadline:
                raise ScriptError("timed out waiting for the client")
            try:
                chunk = self._conn.recv(4096)
            except socket.timeout:
                continue
            except ConnectionResetError:
                return None
            if not chunk:
                return None
            self._buf += chunk
        raw, _, self._buf = self._buf.partition(b"\n")
        line = raw.rstrip(b"\r").decode("latin-1")
        self.commands.append(line)
        return line

    def _send(self, data):
        if self._conn is None:
            raise ScriptError("send on a closed control connection")
        self._conn.settimeout(IO_TIMEOUT)
        try:
            self._conn.sendall(data)
        finally:
            self._conn.settimeout(POLL)

    def _send_line(self, text):
        self._send(text.encode("utf-8") + b"\r\n")

    def _listen_data(self, family, host):
        if self._listener is not None:
            self._listener.close()
        self._listener = socket.create_server((host, 0), family=family, backlog=1)
        return self._listener.getsockname()[1]

    def _close_data(self):
        if self._data is not None:
            self._data.close()
            self._data = None

    def _close_control(self):
        if self._conn is not None:
            self._conn.close()
            self._conn = None
