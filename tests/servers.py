"""pyftpdlib servers on loopback for tests and benchmarks.

    with PyftpdlibThreaded(root) as srv:       # a thread of this process
        ftp = ftplib.FTP()
        ftp.connect(srv.host, srv.port)
        ftp.login(srv.user, srv.password)

    with PyftpdlibProcess(root) as srv:        # `python -m pyftpdlib` in a subprocess
        ...

The in-process server shares the GIL with the client under test, so a client
that blocks without releasing the GIL starves it: every test against it is
also a GIL-release test. The subprocess server isolates the client from that.

No pytest here: fixtures and benchmarks use the same classes.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

__all__ = ["PERMS", "PyftpdlibProcess", "PyftpdlibThreaded", "ipv6_available"]

# Every permission pyftpdlib knows: list, retrieve, store, append, delete,
# rename, mkdir, chmod (SITE CHMOD) and MFMT.
PERMS = "elradfmwMT"
START_TIMEOUT = 10.0


def ipv6_available():
    """True if a socket can listen on ::1 here."""
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


def _family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


# pyftpdlib's CWD changes the process's working directory and back
# (os.chdir): two sessions doing it at once in threads of one process can
# leave the process in another directory, possibly one deleted later. One at
# a time, in every threaded server.
_CWD_LOCK = threading.Lock()


class _SerialCwd:
    def ftp_CWD(self, path):
        with _CWD_LOCK:
            return super().ftp_CWD(path)


class PyftpdlibThreaded:
    """pyftpdlib's ThreadedFTPServer serving ``root`` from a thread of this process.

    ``host`` is ``'127.0.0.1'`` or ``'::1'``; the port is picked by the kernel.
    The account ``user``/``password`` has every permission; ``anonymous=True``
    also admits ``anonymous`` read-only (what ``FTP.login()`` with no arguments
    uses). ``passive_ports=None`` lets the kernel pick each passive port.
    ``encoding`` is the server's command/path encoding ('utf8' or 'latin-1').
    ``tls=True`` serves explicit FTPS with ``certfile``/``keyfile``.
    ``root`` may be reassigned between sessions (new logins see the new root).
    ``handler_mixins`` are classes put before pyftpdlib's handler, to add
    commands (listed in their ``extra_proto_cmds``) or change replies.
    """

    def __init__(
        self,
        root,
        user="user",
        password="pass",
        *,
        host="127.0.0.1",
        anonymous=True,
        passive_ports=None,
        encoding="utf8",
        tls=False,
        certfile=None,
        keyfile=None,
        tls_control_required=False,
        tls_data_required=False,
        handler_mixins=(),
    ):
        self.handler_mixins = tuple(handler_mixins)
        self.host = host
        self.port = None
        self.user = user
        self.password = password
        self.anonymous = anonymous
        self.passive_ports = passive_ports
        self.encoding = encoding
        self.tls = tls
        self.certfile = certfile
        self.keyfile = keyfile or certfile
        self.tls_control_required = tls_control_required
        self.tls_data_required = tls_data_required
        self._root = Path(root).absolute()
        self._server = None
        self._authorizer = None
        self._thread = None
        self._stopping = threading.Event()

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def __repr__(self):
        state = "running" if self.running else "stopped"
        return f"<PyftpdlibThreaded {self.host}:{self.port} root={self._root} {state}>"

    @property
    def running(self):
        return self._thread is not None and self._thread.is_alive()

    @property
    def root(self):
        return self._root

    @root.setter
    def root(self, path):
        self._root = Path(path).absolute()
        if self._authorizer is not None:
            home = os.path.realpath(self._root)
            for account in self._authorizer.user_table.values():
                account["home"] = home

    def start(self):
        if self._server is not None:
            raise RuntimeError("this server is already started")
        with warnings.catch_warnings():
            # pyftpdlib imports asyncore/asynchat, deprecated in 3.11.
            warnings.simplefilter("ignore", DeprecationWarning)
            from pyftpdlib import handlers
            from pyftpdlib.authorizers import DummyAuthorizer
            from pyftpdlib.ioloop import IOLoop
            from pyftpdlib.servers import ThreadedFTPServer

        if self.host == "::1" and not ipv6_available():
            raise RuntimeError("IPv6 is not available: cannot listen on ::1")

        authorizer = DummyAuthorizer()
        authorizer.add_user(self.user, self.password, str(self._root), perm=PERMS)
        if self.anonymous:
            authorizer.add_anonymous(str(self._root), perm="elr")
        self._authorizer = authorizer

        base = handlers.FTPHandler
        attrs = {
            "authorizer": authorizer,
            "passive_ports": self.passive_ports,
            "encoding": self.encoding,
            "auth_failed_timeout": 0,  # a failed login answers at once
            "banner": "pyftpdlib ready.",
        }
        if self.tls:
            base = getattr(handlers, "TLS_FTPHandler", None)
            if base is None:
                raise RuntimeError("pyftpdlib's TLS handler needs pyOpenSSL")
            if not self.certfile:
                raise ValueError("tls=True needs certfile (and keyfile)")
            attrs.update(
                certfile=str(self.certfile),
                keyfile=str(self.keyfile),
                tls_control_required=self.tls_control_required,
                tls_data_required=self.tls_data_required,
            )
        # A subclass per server: pyftpdlib configures handlers through class
        # attributes, and two servers must not share them.
        if self.handler_mixins:
            # Mixins add commands (``extra_proto_cmds``) or change replies.
            cmds = dict(base.proto_cmds)
            for mixin in self.handler_mixins:
                cmds.update(getattr(mixin, "extra_proto_cmds", {}))
            attrs["proto_cmds"] = cmds
        handler = type(
            "TestFTPHandler", (*self.handler_mixins, _SerialCwd, base), attrs
        )

        class Server(ThreadedFTPServer):
            # How often each connection's thread looks at the exit flag:
            # bounds how long stop() waits for it.
            poll_timeout = 0.05
            join_timeout = 5

        server = Server((self.host, 0), handler, ioloop=IOLoop())
        # ThreadedFTPServer keeps its exit flag and lock on the class: one
        # server's close_all() would end every other server's sessions.
        server._exit = threading.Event()
        server._lock = threading.Lock()
        self._server = server
        self.port = server.address[1]
        self._stopping.clear()
        self._thread = threading.Thread(
            target=self._serve, name=f"pyftpdlib-{self.host}:{self.port}", daemon=True
        )
        self._thread.start()
        return self

    def _serve(self):
        while not self._stopping.is_set():
            # One pass of the IO loop, then look at the stop flag again.
            self._server.serve_forever(timeout=0.05, blocking=False, handle_exit=False)

    def stop(self):
        """Stop accepting, end every session, join every thread this server started."""
        server, self._server = self._server, None
        thread, self._thread = self._thread, None
        self._stopping.set()
        if thread is not None:
            thread.join(10)
            if thread.is_alive():
                raise RuntimeError(f"{thread.name} did not stop")
        if server is not None:
            tasks = list(server._active_tasks)
            server.close_all()  # sets the exit flag, joins sessions, closes sockets
            alive = [t.name for t in tasks if t.is_alive()]
            if alive:
                raise RuntimeError(f"pyftpdlib session threads still alive: {alive}")
        self._authorizer = None


class PyftpdlibProcess:
    """``python -m pyftpdlib`` serving ``root`` (read-write) from a subprocess.

    The port is chosen by the kernel and read from the server's log; start()
    returns once the server has answered a connection with 220.
    """

    def __init__(
        self,
        root,
        user="user",
        password="pass",
        *,
        host="127.0.0.1",
        passive_ports=None,
    ):
        self.host = host
        self.port = None
        self.user = user
        self.password = password
        self.root = Path(root).absolute()
        self.passive_ports = passive_ports
        self.log_path = None
        self._state_dir = None
        self._proc = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def __repr__(self):
        state = "running" if self.running else "stopped"
        return f"<PyftpdlibProcess {self.host}:{self.port} root={self.root} {state}>"

    @property
    def running(self):
        return self._proc is not None and self._proc.poll() is None

    def read_log(self):
        try:
            return self.log_path.read_text(errors="replace")
        except (OSError, AttributeError):
            return ""

    def start(self):
        if self._proc is not None:
            raise RuntimeError("this server is already started")
        if self.host == "::1" and not ipv6_available():
            raise RuntimeError("IPv6 is not available: cannot listen on ::1")
        self._state_dir = Path(tempfile.mkdtemp(prefix="pyftpdlib-"))
        self.log_path = self._state_dir / "pyftpdlib.log"
        argv = [
            sys.executable,
            "-m",
            "pyftpdlib",
            "-i",
            self.host,
            "-p",
            "0",
            "-w",
            "-d",
            str(self.root),
            "-u",
            self.user,
            "-P",
            self.password,
        ]
        if self.passive_ports:
            argv += ["-r", f"{self.passive_ports[0]}-{self.passive_ports[-1]}"]
        try:
            with open(self.log_path, "wb") as log:
                # The log goes to a file, not a pipe: pyftpdlib logs every
                # command, and nobody would drain a pipe.
                self._proc = subprocess.Popen(
                    argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
                )
            self.port = self._wait_for_port()
            self._wait_for_greeting()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_for_port(self):
        pattern = re.compile(r"starting FTP server on (\S+):(\d+), pid")
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            match = pattern.search(self.read_log())
            if match:
                return int(match.group(2))
            if self._proc.poll() is not None:
                break
            time.sleep(0.02)
        raise RuntimeError(f"pyftpdlib did not start; its log:\n{self.read_log()}")

    def _wait_for_greeting(self):
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            try:
                with (
                    socket.create_connection((self.host, self.port), timeout=2) as sock,
                    sock.makefile("rb") as f,
                ):
                    if f.readline().startswith(b"220"):
                        return
            except OSError:
                pass
            if self._proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(
            f"pyftpdlib on {self.host}:{self.port} did not greet; its log:\n{self.read_log()}"
        )

    def stop(self):
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._state_dir is not None:
            shutil.rmtree(self._state_dir, ignore_errors=True)
            self._state_dir = None
