"""Start and stop a real pure-ftpd on 127.0.0.1, with TLS required, for benchmarks.

    with PureFtpd(root) as srv:
        ftp = ftplib.FTP_TLS(context=srv.client_context())
        ftp.connect(srv.host, srv.port)
        ftp.login(srv.user, srv.password)
        ftp.prot_p()

Why: vsftpd spends ~2 CPU seconds per GiB on its own TLS, so every FTPS client
looks alike against it; pure-ftpd with ``-Y 3`` is cheap enough on TLS that a
client's own speed shows.

pure-ftpd runs in the foreground (no ``-B``) as a child of this process, on a
free port with a passive range of its own. Logins are virtual users in a
PureDB file of its own (``-l puredb:``), mapped to the local account ``user``
(created as tests/vsftpd.py does if it is missing; an existing account's
system password is left alone), whose home (no chroot) is ``root``. Needs root
and the pure-ftpd and pure-pw binaries; without them ``PureFtpd(...)`` raises
RuntimeError.

Installing: Debian's pure-ftpd and vsftpd packages conflict (both provide
ftp-server), so ``apt-get install pure-ftpd`` REMOVES vsftpd, which the tests
and the other benchmark rows need. Unpack the package beside it instead:

    apt-get update
    cd /tmp && apt-get download pure-ftpd
    dpkg-deb -x pure-ftpd_*_amd64.deb /opt/pure-ftpd   # no dpkg state, no service

Its libraries (libsodium23, libssl3, libcap2, libpam0g, libcrypt1) are on a
stock bookworm. The binary is looked for at ``$PURE_FTPD``, then
/usr/sbin/pure-ftpd, then /opt/pure-ftpd/usr/sbin/pure-ftpd; pure-pw beside it
(``../bin/pure-pw``) or on PATH.

Every transfer is logged in xferlog format; ``srv.transfers()`` reads it back,
so a benchmark can check how many bytes the server really sent or received.

``python benches/pureftpd.py`` is a self-check with stdlib ftplib.
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
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

_TESTS = Path(__file__).resolve().parent.parent / "tests"
if str(_TESTS) not in sys.path:
    sys.path.insert(0, str(_TESTS))

from vsftpd import (  # tests/ has just been put on sys.path
    HOST,
    descendants,
    ensure_account,
    free_port,
    freeze_tree,
    make_self_signed_cert,
    pick_pasv_range,
)

__all__ = ["PureFtpd", "Transfer", "pureftpd_version"]

PURE_FTPD_PATHS = ("/usr/sbin/pure-ftpd", "/opt/pure-ftpd/usr/sbin/pure-ftpd")
START_TIMEOUT = 10.0
INSTALL_HINT = (
    "`cd /tmp && apt-get download pure-ftpd && dpkg-deb -x pure-ftpd_*_amd64.deb "
    "/opt/pure-ftpd` (not `apt-get install pure-ftpd`: that removes vsftpd)"
)


def find_pure_ftpd():
    """(pure-ftpd, pure-pw) paths, or RuntimeError saying how to install them."""
    candidates = [os.environ["PURE_FTPD"]] if os.environ.get("PURE_FTPD") else []
    candidates += PURE_FTPD_PATHS
    for binary in candidates:
        if os.access(binary, os.X_OK):
            beside = Path(binary).resolve().parent.parent / "bin" / "pure-pw"
            pure_pw = (
                str(beside) if os.access(beside, os.X_OK) else shutil.which("pure-pw")
            )
            if pure_pw is None:
                raise RuntimeError(
                    f"pure-pw is missing (next to {binary}): {INSTALL_HINT}"
                )
            return binary, pure_pw
    raise RuntimeError(
        f"pure-ftpd is not installed (looked for {', '.join(candidates)}): {INSTALL_HINT}"
    )


class Transfer(NamedTuple):
    """One line of pure-ftpd's transfer log."""

    size: int  # bytes actually sent or received (less than the file if cut short)
    path: str  # absolute path on the server
    direction: str  # 'o': outgoing (RETR), 'i': incoming (STOR)


class PureFtpd:
    """One pure-ftpd process serving ``root`` to one virtual user.

    ``tls_required=True``: ``-Y 3``, TLS required on the control connection and
    every data connection (PROT P); ``False``: ``-Y 1``, TLS offered but optional.
    Either way ``srv.tls == 'explicit'`` (AUTH TLS). Without ``certfile`` a
    self-signed certificate for localhost and 127.0.0.1 is made; ``srv.certfile``
    can serve as the client's CA file. ``srv.log_path`` receives what pure-ftpd
    prints (startup errors); ``srv.xferlog_path`` its transfer log.
    """

    def __init__(
        self,
        root,
        *,
        port=0,
        user="rftp",
        password="rftp-pass",
        tls_required=True,
        certfile=None,
        keyfile=None,
    ):
        self.binary, self.pure_pw = find_pure_ftpd()
        if os.geteuid() != 0:
            raise RuntimeError(
                "pure-ftpd must be started as root (it switches to the login's uid)"
            )
        self.host = HOST
        self.port = port
        self.user = user
        self.password = password
        self.root = Path(root).absolute()
        self.tls = "explicit"
        self.tls_required = tls_required
        self.certfile = certfile
        self.keyfile = keyfile or certfile
        self._given_cert = (certfile, self.keyfile) if certfile else None
        self.state_dir = None
        self.log_path = None
        self.xferlog_path = None
        self.pasv_range = None
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
        return (
            f"<PureFtpd {self.host}:{self.port} tls_required={self.tls_required} "
            f"root={self.root} {state}>"
        )

    @property
    def running(self):
        return self._proc is not None and self._proc.poll() is None

    def start(self):
        if self._proc is not None:
            raise RuntimeError("this PureFtpd is already started")
        self.state_dir = Path(tempfile.mkdtemp(prefix="pureftpd-"))
        try:
            self.log_path = self.state_dir / "pure-ftpd.log"
            self.log_path.touch()
            self.xferlog_path = self.state_dir / "xfer.log"
            account = self._account()
            prepare_root(self.root, account)
            self._make_puredb(account)
            self._make_pem()
            self._launch()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self):
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.poll() is None:
                # The listener and every session below it, by PID: freeze the tree
                # first so that nothing forks while it is collected.
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
        """The processes serving connections now (children of the listener, recursively).

        A session is one process (it does the TLS) plus its privilege-separation
        helper; when a session ends, its helper is orphaned and no longer listed.
        """
        return descendants(self._proc.pid) if self.running else []

    def read_log(self):
        """What pure-ftpd printed so far ('' once stopped)."""
        try:
            return self.log_path.read_text(errors="replace")
        except (OSError, AttributeError):
            return ""

    def transfers(self):
        """Every transfer finished (or cut short) so far, oldest first."""
        try:
            lines = self.xferlog_path.read_text(errors="replace").splitlines()
        except (OSError, AttributeError):
            return []
        out = []
        for line in lines:
            # date (5 fields), seconds, host, bytes, path..., then 9 fields with
            # the direction third: read from both ends so a path may hold spaces.
            fields = line.split()
            if len(fields) < 18:
                continue
            out.append(Transfer(int(fields[7]), " ".join(fields[8:-9]), fields[-7]))
        return out

    # -- client helpers --------------------------------------------------------

    def client_context(self):
        """An SSLContext that trusts this server's certificate (and checks 127.0.0.1)."""
        return ssl.create_default_context(cafile=self.certfile)

    def url(self, path=""):
        """An ftp:// URL with credentials, for curl and the like."""
        return f"ftp://{self.user}:{self.password}@{self.host}:{self.port}/{path.lstrip('/')}"

    # -- internals -------------------------------------------------------------

    def _account(self):
        try:
            account = pwd.getpwnam(self.user)
        except KeyError:
            ensure_account(self.user, self.password)
            account = pwd.getpwnam(self.user)
        if account.pw_uid == 0:
            raise RuntimeError(
                f"{self.user} is uid 0: pure-ftpd needs an unprivileged account"
            )
        return account

    def _make_puredb(self, account):
        # A $6$ (SHA-512 crypt, 5000 rounds) hash, not pure-pw's default argon2id,
        # which costs ~2.5 CPU seconds per login and would swamp the server CPU.
        hashed = subprocess.run(
            ["openssl", "passwd", "-6", "-stdin"],
            input=self.password + "\n",
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        # login:hash:uid:gid:gecos:home (no '/./': no chroot), then optional limits.
        passwd = self.state_dir / "pureftpd.passwd"
        entry = f"{self.user}:{hashed}:{account.pw_uid}:{account.pw_gid}::{self.root}"
        passwd.write_text(entry + ":" * 12 + "\n")
        passwd.chmod(0o600)
        self.puredb_path = self.state_dir / "pureftpd.pdb"
        result = subprocess.run(
            [self.pure_pw, "mkdb", str(self.puredb_path), "-f", str(passwd)],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"pure-pw mkdb failed: {result.stderr.strip()}")

    def _make_pem(self):
        if self._given_cert is None:
            self.certfile, self.keyfile = make_self_signed_cert(self.state_dir)
        # pure-ftpd exits silently (status 252) on a missing certificate: check here.
        for path in {self.certfile, self.keyfile}:
            if not Path(path).is_file():
                raise RuntimeError(f"certificate file {path} does not exist")
        # Certificate and key in one PEM, given with -2 (--certfile).
        self.pem_path = self.state_dir / "pure-ftpd.pem"
        pem = Path(self.certfile).read_bytes()
        if Path(self.keyfile) != Path(self.certfile):
            pem += b"\n" + Path(self.keyfile).read_bytes()
        self.pem_path.write_bytes(pem)
        self.pem_path.chmod(0o600)

    def _argv(self):
        pasv_min, pasv_max = self.pasv_range
        return [
            self.binary,
            "-f", "none",  # no syslog (first, as the manual asks)
            "-S", f"{self.host},{self.port}",
            "-4",  # IPv4 only
            "-H",  # no reverse DNS
            "-E",  # no anonymous logins
            "-l", f"puredb:{self.puredb_path}",
            "-p", f"{pasv_min}:{pasv_max}",
            "-P", self.host,
            "-Y", "3" if self.tls_required else "1",
            "-2", str(self.pem_path),
            "-O", f"xferlog:{self.xferlog_path}",
        ]  # fmt: skip

    def _launch(self):
        attempts = 1 if self._fixed_port else 10
        for _ in range(attempts):
            if not self._fixed_port:
                self.port = free_port()
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
            # The usual failure is a port taken between free_port() and bind()
            # ("Unable to start a standalone server: Address already in use").
            self._proc.wait()
            self._proc = None
        raise RuntimeError(
            f"pure-ftpd did not start on {self.host}:{self.port} "
            f"after {attempts} attempt(s); its output:\n{self.read_log()}"
        )

    def _wait_ready(self):
        """True once the server greets; False if it exited."""
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                return False
            try:
                with socket.create_connection(
                    (self.host, self.port), timeout=2
                ) as sock:
                    if sock.makefile("rb").readline().startswith(b"220"):
                        return True
            except OSError:
                pass
            time.sleep(0.05)
        log = self.read_log()
        self.stop()
        raise RuntimeError(
            f"pure-ftpd on {self.host}:{self.port} did not greet within "
            f"{START_TIMEOUT}s; its output:\n{log}"
        )


def prepare_root(root, account):
    """Make ``root`` the account's to read and write, and reachable."""
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


def pureftpd_version():
    """'pure-ftpd 1.0.50' (from its --help), or 'pure-ftpd' if that cannot be read."""
    try:
        out = subprocess.run(
            [find_pure_ftpd()[0], "--help"], capture_output=True, text=True, check=False
        )
        first = (out.stdout or out.stderr).split()
        if len(first) >= 2 and first[1].startswith("v"):
            return f"pure-ftpd {first[1][1:]}"
    except (OSError, RuntimeError):
        pass
    return "pure-ftpd"


# -- self-check: python benches/pureftpd.py ------------------------------------


def _self_check():
    import ftplib
    import io

    payload = os.urandom(3 * 65536 + 123)
    failures = 0

    def report(name, ok, detail=""):
        nonlocal failures
        failures += not ok
        print(f"{'PASS' if ok else 'FAIL'}  {name:45} {detail}")

    with tempfile.TemporaryDirectory(prefix="pureftpd-check-") as tmp:
        root = Path(tmp) / "root"
        root.mkdir()
        (root / "hello.bin").write_bytes(payload)
        with PureFtpd(root) as srv:
            try:
                with ftplib.FTP_TLS(context=srv.client_context(), timeout=10) as ftp:
                    ftp.connect(srv.host, srv.port)
                    ftp.login(srv.user, srv.password)
                    ftp.prot_p()
                    got = io.BytesIO()
                    ftp.retrbinary("RETR hello.bin", got.write)
                    ftp.storbinary("STOR up.bin", io.BytesIO(payload))
                    ok = (
                        got.getvalue() == payload
                        and (root / "up.bin").read_bytes() == payload
                    )
                    report("FTPS PROT P: RETR and STOR", ok)
                    logged = [
                        (t.size, Path(t.path).name, t.direction)
                        for t in srv.transfers()
                    ]
                    want = [
                        (len(payload), "hello.bin", "o"),
                        (len(payload), "up.bin", "i"),
                    ]
                    report("transfer log", logged == want, str(logged))
            except Exception as e:  # noqa: BLE001  (report every check, then fail)
                report("FTPS PROT P: RETR and STOR", False, f"{type(e).__name__}: {e}")
            try:
                with ftplib.FTP(timeout=10) as ftp:
                    ftp.connect(srv.host, srv.port)
                    ftp.login(srv.user, srv.password)
                report("plain login refused (-Y 3)", False, "it was accepted")
            except (ftplib.error_perm, ftplib.error_temp) as e:
                report("plain login refused (-Y 3)", True, str(e).splitlines()[0])
            try:
                with ftplib.FTP_TLS(context=srv.client_context(), timeout=10) as ftp:
                    ftp.connect(srv.host, srv.port)
                    ftp.login(srv.user, srv.password)  # PROT C: data in clear
                    ftp.retrbinary("RETR hello.bin", lambda b: None)
                report("cleartext data refused (-Y 3)", False, "it was accepted")
            except (ftplib.error_perm, ftplib.error_temp) as e:
                report("cleartext data refused (-Y 3)", True, str(e).splitlines()[0])
            pids = srv.session_pids()
            report("sessions ended", srv.wait_idle(), str(pids))
        report("stopped", not srv.running and srv.state_dir is None)
    return failures


if __name__ == "__main__":
    raise SystemExit(1 if _self_check() else 0)
