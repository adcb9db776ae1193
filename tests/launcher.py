"""What every C FTP server launcher here shares: a process of its own on a free
port of 127.0.0.1 (or ::1), a state folder for its configuration and logs, and
a stop that ends the listener and every session below it.

    class MyFtpd(ServerProcess):
        NAME = "myftpd"
        def _prepare(self): ...          # files the server needs, in self.state_dir
        def _argv(self): ...             # the command line, for self.port/pasv_range

tests/proftpd.py and tests/pureftpd.py build on it (tests/vsftpd.py predates it
and keeps its own copy of the same lifecycle). Servers whose binary is missing
raise RuntimeError from the constructor, saying how to install them: a test
that needs one fails, it never skips.

Debian packages ProFTPD, pure-ftpd and vsftpd as mutually exclusive
(each provides ``ftp-server``), so the first two are unpacked with
``apt-get download`` + ``dpkg-deb -x`` into one folder (``.ci/run`` does it):
``$RFTPLIB_SERVERS``, by default /opt/rftplib-servers.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import ssl
import stat
import subprocess
import tempfile
import time
from pathlib import Path

from vsftpd import (
    descendants,
    ensure_account,
    free_port,
    freeze_tree,
    make_self_signed_cert,
    pick_pasv_range,
)

__all__ = ["SERVERS_DIR", "ServerProcess", "find_binary", "prepare_root"]

SERVERS_DIR = Path(os.environ.get("RFTPLIB_SERVERS", "/opt/rftplib-servers"))
START_TIMEOUT = 10.0
INSTALL_HINT = "run `bash .ci/run` (or the install lines at its top) as root"


def find_binary(relative, env=None, also=()):
    """``$env``, else the unpacked ``SERVERS_DIR/relative``, else one of ``also``;
    RuntimeError saying how to install it if none is there."""
    candidates = [os.environ[env]] if env and os.environ.get(env) else []
    candidates.append(str(SERVERS_DIR / relative))
    candidates += also
    for binary in candidates:
        if os.access(binary, os.X_OK):
            return binary
    raise RuntimeError(
        f"{Path(relative).name} is not installed (looked for {', '.join(candidates)}): "
        f"{INSTALL_HINT}; it unpacks the Debian package with apt-get download + "
        "dpkg-deb -x, since installing it would remove vsftpd"
    )


def prepare_root(root, account):
    """Make ``root`` the account's to read and write, and reachable by it."""
    root.mkdir(parents=True, exist_ok=True)
    for parent in root.parents:  # the session runs as the account: it must get through
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            parent.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [dirpath] + [
            os.path.join(dirpath, n) for n in dirnames + filenames
        ]:
            os.lchown(name, account.pw_uid, account.pw_gid)
    root.chmod(0o755)


def crypt_sha512(password):
    """A $6$ hash (5000 rounds): cheap to check, unlike the argon2/yescrypt defaults."""
    return subprocess.run(
        ["openssl", "passwd", "-6", "-stdin"],
        input=password + "\n",
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


class ServerProcess:
    """One server process serving ``root`` to one login mapped to the local
    account ``user`` (created if missing; its files become that account's).

    ``host``: '127.0.0.1' or '::1'. ``tls``: None, 'explicit' or 'implicit'
    (what each server supports is up to the subclass). Without ``certfile`` a
    self-signed certificate for localhost, 127.0.0.1 and ::1 is made;
    ``srv.certfile`` can serve as the client's CA file. ``srv.log_path``
    receives what the server prints (startup errors).
    """

    NAME = "server"
    TLS_MODES = (None, "explicit", "implicit")

    def __init__(
        self,
        root,
        *,
        host="127.0.0.1",
        port=0,
        user="rftp",
        password="rftp-pass",
        tls=None,
        certfile=None,
        keyfile=None,
    ):
        if tls not in self.TLS_MODES:
            raise ValueError(
                f"{self.NAME}: tls must be one of {self.TLS_MODES}, not {tls!r}"
            )
        if os.geteuid() != 0:
            raise RuntimeError(
                f"{self.NAME} must be started as root (it switches to the login's uid)"
            )
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.root = Path(root).absolute()
        self.tls = tls
        self.certfile = certfile
        self.keyfile = keyfile or certfile
        self._given_cert = (certfile, self.keyfile) if certfile else None
        self.state_dir = None
        self.log_path = None
        self.pasv_range = None
        self.account = None
        self._proc = None
        self._fixed_port = port != 0

    # -- lifecycle -----------------------------------------------------------

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def __repr__(self):
        state = "running" if self.running else "stopped"
        return f"<{type(self).__name__} {self.host}:{self.port} tls={self.tls} root={self.root} {state}>"

    @property
    def running(self):
        return self._proc is not None and self._proc.poll() is None

    def start(self):
        if self._proc is not None:
            raise RuntimeError(f"this {type(self).__name__} is already started")
        self.state_dir = Path(tempfile.mkdtemp(prefix=f"{self.NAME}-"))
        try:
            self.state_dir.chmod(0o755)
            self.log_path = self.state_dir / f"{self.NAME}.log"
            self.log_path.touch()
            self.account = self._account()
            prepare_root(self.root, self.account)
            if self.tls and self._given_cert is None:
                self.certfile, self.keyfile = make_self_signed_cert(self.state_dir)
            self._prepare()
            self._launch()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self):
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.poll() is None:
                # The listener and every session below it, by PID: freeze the
                # tree first so that nothing forks while it is collected.
                for pid in freeze_tree(proc.pid):
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
            proc.wait()
        if self.state_dir is not None:
            shutil.rmtree(self.state_dir, ignore_errors=True)
            self.state_dir = None

    def wait_idle(self, timeout=10.0):
        """Wait until every session has ended and been reaped; False on timeout."""
        deadline = time.monotonic() + timeout
        while self.session_pids():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.005)
        return True

    def session_pids(self):
        """The processes serving connections now (children of the listener, recursively)."""
        return descendants(self._proc.pid) if self.running else []

    def read_log(self):
        """What the server printed or logged so far ('' once stopped)."""
        try:
            return self.log_path.read_text(errors="replace")
        except (OSError, AttributeError):
            return ""

    # -- client helpers --------------------------------------------------------

    def client_context(self):
        """An SSLContext that trusts this server's certificate (and checks its address)."""
        return ssl.create_default_context(cafile=self.certfile)

    def url(self, path=""):
        """An ftp:// URL with credentials, for curl and the like."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return (
            f"ftp://{self.user}:{self.password}@{host}:{self.port}/{path.lstrip('/')}"
        )

    # -- for subclasses --------------------------------------------------------

    def _prepare(self):
        """Write what the server needs into ``self.state_dir`` (once per start)."""

    def _argv(self):
        """The command line, for the current ``self.port`` and ``self.pasv_range``."""
        raise NotImplementedError

    # -- internals -------------------------------------------------------------

    def _account(self):
        try:
            account = pwd.getpwnam(self.user)
        except KeyError:
            ensure_account(self.user, self.password)
            account = pwd.getpwnam(self.user)
        if account.pw_uid == 0:
            raise RuntimeError(
                f"{self.user} is uid 0: {self.NAME} needs an unprivileged account"
            )
        return account

    def _launch(self):
        attempts = 1 if self._fixed_port else 10
        for _ in range(attempts):
            logged = self.log_path.stat().st_size
            if not self._fixed_port:
                self.port = free_port(self.host)
            self.pasv_range = pick_pasv_range()
            with open(self.log_path, "ab") as log:
                self._proc = subprocess.Popen(
                    self._argv(),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            if self._wait_ready():
                return
            # The usual failure is a port taken between free_port() and bind();
            # anything else would fail the same way again.
            self._proc.wait()
            self._proc = None
            if "in use" not in self.read_log()[logged:]:
                break
        raise RuntimeError(
            f"{self.NAME} did not start on {self.host}:{self.port} "
            f"after {attempts} attempt(s); its output:\n{self.read_log()}"
        )

    def _wait_ready(self):
        """True once the server greets (implicit TLS: accepts); False if it exited."""
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                return False
            try:
                with socket.create_connection(
                    (self.host, self.port), timeout=2
                ) as sock:
                    if self.tls == "implicit":
                        return True  # the greeting would come only after a handshake
                    if sock.makefile("rb").readline().startswith(b"220"):
                        return True
            except OSError:
                pass
            time.sleep(0.05)
        log = self.read_log()
        self.stop()
        raise RuntimeError(
            f"{self.NAME} on {self.host}:{self.port} did not greet within "
            f"{START_TIMEOUT}s; its output:\n{log}"
        )
