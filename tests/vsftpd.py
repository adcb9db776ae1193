"""Start and stop a real vsftpd on 127.0.0.1 for tests and benchmarks.

    with Vsftpd(root) as srv:
        ftp = ftplib.FTP()
        ftp.connect(srv.host, srv.port)
        ftp.login(srv.user, srv.password)

vsftpd runs as root and drops to a real local account (PAM), so this needs
root and ``/usr/sbin/vsftpd`` (``apt-get install vsftpd``); without them
``Vsftpd(...)`` raises RuntimeError rather than letting a suite skip quietly.

No pytest here: fixtures, benches/bench.py and ``python tests/vsftpd.py``
(a self-check of every mode with stdlib ftplib) all use the same class.
"""

from __future__ import annotations

import ftplib
import os
import pwd
import random
import shutil
import signal
import socket
import ssl
import stat
import subprocess
import tempfile
import time
from pathlib import Path

__all__ = ["ImplicitFTP_TLS", "ReusingFTP_TLS", "Vsftpd"]

VSFTPD = "/usr/sbin/vsftpd"
HOST = "127.0.0.1"
PASV_PORTS = 100  # width of each server's passive range: room for 8+ parallel transfers
START_TIMEOUT = 10.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class Vsftpd:
    """One vsftpd process serving ``root`` to one local account.

    ``tls``: None (plain FTP), ``'explicit'`` (AUTH TLS, TLS required for
    logins and data) or ``'implicit'`` (TLS from the first byte).
    ``require_ssl_reuse``: vsftpd's check that each data connection resumes
    the control connection's TLS session; stock ftplib fails it with 522.
    Without ``certfile``/``keyfile`` a self-signed certificate for localhost
    and 127.0.0.1 is made; ``srv.certfile`` can serve as the client's CA file.
    ``log_protocol=True`` logs every command and reply to ``srv.log_path``
    (which always receives vsftpd's own startup errors). ``config`` adds or
    overrides vsftpd.conf settings (``{"max_per_ip": 2}``).
    """

    def __init__(
        self,
        root,
        *,
        port=0,
        user="rftp",
        password="rftp-pass",
        tls=None,
        require_ssl_reuse=True,
        certfile=None,
        keyfile=None,
        log_protocol=False,
        config=None,
    ):
        if tls not in (None, "explicit", "implicit"):
            raise ValueError(f"tls must be None, 'explicit' or 'implicit', not {tls!r}")
        if not os.path.exists(VSFTPD):
            raise RuntimeError(
                f"{VSFTPD} is missing: install it with `apt-get install vsftpd`"
            )
        if os.geteuid() != 0:
            raise RuntimeError(
                "vsftpd must be started as root (it logs in real local accounts through PAM)"
            )
        self.host = HOST
        self.port = port
        self.user = user
        self.password = password
        self.root = Path(root).absolute()
        self.tls = tls
        self.require_ssl_reuse = require_ssl_reuse
        self.certfile = certfile
        self.keyfile = keyfile or certfile
        self._given_cert = (certfile, self.keyfile) if certfile else None
        self.log_protocol = log_protocol
        self.extra_config = dict(config or {})
        self.state_dir = None
        self.log_path = None
        self.config_path = None
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
            f"<Vsftpd {self.host}:{self.port} tls={self.tls} root={self.root} {state}>"
        )

    @property
    def running(self):
        return self._proc is not None and self._proc.poll() is None

    def start(self):
        if self._proc is not None:
            raise RuntimeError("this Vsftpd is already started")
        self.state_dir = Path(tempfile.mkdtemp(prefix="vsftpd-"))
        try:
            self.log_path = self.state_dir / "vsftpd.log"
            self.log_path.touch()
            # secure_chroot_dir: empty, root-owned, not writable
            empty = self.state_dir / "empty"
            empty.mkdir()
            empty.chmod(0o555)
            self.state_dir.chmod(0o755)
            ensure_account(self.user, self.password)
            self._prepare_root()
            if self.tls and self._given_cert is None:
                # Made anew per start: the state dir, and the files, go at stop().
                self.certfile, self.keyfile = make_self_signed_cert(self.state_dir)
            self._launch()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self):
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.poll() is None:
                # Each session runs in a session of its own (vsftpd calls setsid),
                # so neither killing the listener nor its process group ends them.
                # Freeze the tree first so that nothing forks while it is collected.
                tree = freeze_tree(proc.pid)
                for pid in tree:
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
        """vsftpd's log so far ('' once stopped): useful in assertion messages."""
        try:
            return self.log_path.read_text(errors="replace")
        except (OSError, AttributeError):
            return ""

    # -- client helpers --------------------------------------------------------

    def client_context(self):
        """An SSLContext that trusts this server's certificate (and checks 127.0.0.1)."""
        return ssl.create_default_context(cafile=self.certfile)

    def url(self, path=""):
        """An ftp:// URL with credentials, for curl and the like."""
        return f"ftp://{self.user}:{self.password}@{self.host}:{self.port}/{path.lstrip('/')}"

    # -- internals -------------------------------------------------------------

    def _prepare_root(self):
        account = pwd.getpwnam(self.user)
        self.root.mkdir(parents=True, exist_ok=True)
        # Every parent must be searchable, or vsftpd falls back to the home
        # directory without saying so (pytest's tmp_path parents are 0700).
        for parent in self.root.parents:
            mode = parent.stat().st_mode
            if not mode & stat.S_IXOTH:
                parent.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)
        # Files put there before start() must be overwritable and deletable too.
        for dirpath, dirnames, filenames in os.walk(self.root):
            for name in [dirpath] + [
                os.path.join(dirpath, n) for n in dirnames + filenames
            ]:
                os.lchown(name, account.pw_uid, account.pw_gid)
        self.root.chmod(0o755)

    def _config(self):
        pasv_min, pasv_max = self.pasv_range
        lines = {
            "listen": "YES",
            "listen_ipv6": "NO",
            "listen_address": self.host,
            "listen_port": self.port,
            "background": "NO",
            "seccomp_sandbox": "NO",
            "isolate": "NO",
            "isolate_network": "NO",
            "session_support": "NO",
            "secure_chroot_dir": self.state_dir / "empty",
            "anonymous_enable": "NO",
            "local_enable": "YES",
            "write_enable": "YES",
            "local_umask": "022",
            "local_root": self.root,
            "pam_service_name": "vsftpd",
            "userlist_enable": "NO",
            "pasv_enable": "YES",
            "pasv_min_port": pasv_min,
            "pasv_max_port": pasv_max,
            "pasv_address": self.host,
            "port_enable": "YES",
            "connect_from_port_20": "NO",  # port 20 would clash between servers
            "max_clients": 200,
            "max_per_ip": 200,
            "use_sendfile": "YES",
            "xferlog_enable": "YES" if self.log_protocol else "NO",
            "xferlog_std_format": "NO",
            "log_ftp_protocol": "YES" if self.log_protocol else "NO",
            "vsftpd_log_file": self.log_path,
        }
        if self.tls:
            lines.update(
                {
                    "ssl_enable": "YES",
                    "rsa_cert_file": self.certfile,
                    "rsa_private_key_file": self.keyfile,
                    # 3.0.3's default cipher list matches nothing in OpenSSL 3.
                    "ssl_ciphers": "HIGH",
                    "allow_anon_ssl": "NO",
                    "force_local_logins_ssl": "YES",
                    "force_local_data_ssl": "YES",
                    "require_ssl_reuse": "YES" if self.require_ssl_reuse else "NO",
                    "implicit_ssl": "YES" if self.tls == "implicit" else "NO",
                }
            )
        lines.update(self.extra_config)
        return "".join(f"{key}={value}\n" for key, value in lines.items())

    def _launch(self):
        attempts = 1 if self._fixed_port else 10
        for _ in range(attempts):
            if not self._fixed_port:
                self.port = free_port()
            self.pasv_range = pick_pasv_range()
            self.config_path = self.state_dir / "vsftpd.conf"
            self.config_path.write_text(self._config())
            self.config_path.chmod(0o600)  # root-owned, as vsftpd insists
            with open(self.log_path, "ab") as log:
                self._proc = subprocess.Popen(
                    [VSFTPD, str(self.config_path)],
                    # Before it listens, vsftpd reports "500 OOPS" on fd 0 (its
                    # control-connection fd), so that goes to the log as well.
                    stdin=log,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            if self._wait_ready():
                return
            # The usual failure is a port taken between free_port() and bind().
            self._proc.wait()
            self._proc = None
        raise RuntimeError(
            f"vsftpd did not start on {self.host}:{self.port} "
            f"after {attempts} attempt(s); its log:\n{self.read_log()}"
        )

    def _wait_ready(self):
        """True once the server greets (or, for implicit TLS, accepts); False if it exited."""
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
                    greeting = sock.makefile("rb").readline()
                    if greeting.startswith(b"220"):
                        return True
            except OSError:
                pass
            time.sleep(0.05)
        log = self.read_log()
        self.stop()
        raise RuntimeError(
            f"vsftpd on {self.host}:{self.port} did not greet within {START_TIMEOUT}s; "
            f"its log:\n{log}"
        )


def ensure_account(user, password):
    """Make ``user`` a local account vsftpd's PAM stack will accept."""
    try:
        pwd.getpwnam(user)
    except KeyError:
        result = subprocess.run(
            ["useradd", "-M", "-s", "/bin/sh", user],
            check=False,
            capture_output=True,
            text=True,
        )
        try:
            pwd.getpwnam(user)  # another process may have won the race
        except KeyError:
            raise RuntimeError(
                f"useradd {user} failed: {result.stderr.strip()}"
            ) from None
    set_password(user, password)
    # vsftpd changes into the home directory before local_root, and a missing
    # one ends the session with "500 OOPS: cannot change directory" (useradd -M).
    account = pwd.getpwnam(user)
    home = Path(account.pw_dir)
    if not home.is_dir():
        home.mkdir(parents=True, exist_ok=True)
        os.chown(home, account.pw_uid, account.pw_gid)
    # pam_shells wants the login shell listed in /etc/shells.
    shell = account.pw_shell
    shells = Path("/etc/shells")
    listed = shells.read_text().split() if shells.exists() else []
    if shell not in listed:
        with shells.open("a") as f:
            f.write(f"{shell}\n")
    # pam_listfile denies anyone named in /etc/ftpusers.
    ftpusers = Path("/etc/ftpusers")
    if ftpusers.exists():
        lines = ftpusers.read_text().splitlines(keepends=True)
        kept = [line for line in lines if line.strip() != user]
        if kept != lines:
            ftpusers.write_text("".join(kept))


def set_password(user, password):
    # SHA-512 crypt at few rounds: the default yescrypt makes every login cost
    # ~50 ms of server CPU, which would swamp small benchmarks and slow tests.
    # (A throwaway account on loopback; nothing here guards anything.)
    # chpasswd fails while another one holds /etc/shadow's lock: retry.
    for _ in range(50):
        for cmd in (["chpasswd", "-c", "SHA512", "-s", "1000"], ["chpasswd"]):
            result = subprocess.run(
                cmd,
                input=f"{user}:{password}\n",
                text=True,
                check=False,
                capture_output=True,
            )
            if result.returncode == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"chpasswd for {user} failed: {result.stderr.strip()}")


def make_self_signed_cert(directory):
    """cert.pem and key.pem for CN=localhost, SAN localhost/127.0.0.1/::1."""
    if shutil.which("openssl") is None:
        raise RuntimeError("the openssl CLI is needed to make a test certificate")
    cert, key = Path(directory) / "cert.pem", Path(directory) / "key.pem"
    san = "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1"
    cmd = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650"]
    cmd += ["-subj", "/CN=localhost", "-addext", san]
    cmd += ["-keyout", str(key), "-out", str(cert)]
    subprocess.run(cmd, check=True, capture_output=True)
    return cert, key


def descendants(pid):
    """Every live (or not yet reaped) process below ``pid``.

    Reads /proc/P/task/P/children, which lists the children of vsftpd's
    single-threaded processes; without it (no CONFIG_PROC_CHILDREN) scans /proc.
    """
    if not os.path.exists(f"/proc/{pid}/task/{pid}/children"):
        return _descendants_by_scan(pid)
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        try:
            with open(f"/proc/{parent}/task/{parent}/children") as f:
                children = [int(c) for c in f.read().split()]
        except OSError:
            continue  # gone meanwhile
        found += children
        todo += children
    return found


def _descendants_by_scan(pid):
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def process_cpu(pid):
    """CPU seconds one process has run so far, or None if it is gone.

    /proc/P/schedstat counts nanoseconds; utime/stime in /proc/P/stat move in
    10 ms ticks, too coarse for short sessions.
    """
    try:
        with open(f"/proc/{pid}/schedstat") as f:
            return int(f.read().split()[0]) / 1e9
    except FileNotFoundError:
        pass
    except (OSError, ValueError, IndexError):
        return None
    try:  # a kernel without CONFIG_SCHED_INFO
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def freeze_tree(pid):
    """SIGSTOP ``pid`` and everything below it; return them all, root first."""
    frozen = [pid]
    os.kill(pid, signal.SIGSTOP)
    for _ in range(20):  # a process caught mid-fork shows its child on the next pass
        new = [p for p in descendants(pid) if p not in frozen]
        if not new:
            break
        for p in new:
            try:
                os.kill(p, signal.SIGSTOP)
            except ProcessLookupError:
                pass
        frozen += new
    return frozen


def free_port():
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def pick_pasv_range():
    """A random block below the kernel's ephemeral range, so client ports never land in it.

    Servers whose blocks overlap still work: vsftpd retries another port when a bind fails.
    """
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    top = max(low, 12000) - PASV_PORTS
    start = random.randrange(10000, top)
    return start, start + PASV_PORTS - 1


# -- ftplib variants the self-check (and tests) can use --------------------------


class ImplicitFTP_TLS(ftplib.FTP_TLS):
    """ftplib for implicit FTPS: TLS is wrapped around the socket at connect."""

    def connect(self, host="", port=0, timeout=-999, source_address=None):
        if host:
            self.host = host
        if port > 0:
            self.port = port
        if timeout != -999:
            self.timeout = timeout
        if source_address is not None:
            self.source_address = source_address
        sock = socket.create_connection(
            (self.host, self.port), self.timeout, source_address=self.source_address
        )
        self.af = sock.family
        self.sock = self.context.wrap_socket(sock, server_hostname=self.host)
        self.file = self.sock.makefile("r", encoding=self.encoding)
        self.welcome = self.getresp()
        return self.welcome


class ReusingFTP_TLS(ftplib.FTP_TLS):
    """ftplib whose data connections resume the control connection's TLS session
    (the fix CPython gh-63699 asks for), so vsftpd's require_ssl_reuse accepts it."""

    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            conn = self.context.wrap_socket(
                conn, server_hostname=self.host, session=self.sock.session
            )
        return conn, size


# -- self-check: python tests/vsftpd.py ------------------------------------------


def _self_check():
    import io

    payload = os.urandom(3 * 65536 + 123)
    WORKED, REFUSED = "LIST, RETR, STOR ok", "failed: 522"

    def exercise(ftp, srv, passive=True):
        ftp.set_pasv(passive)
        listing = []
        ftp.retrlines("LIST", listing.append)
        assert any("hello.bin" in line for line in listing), listing
        got = io.BytesIO()
        ftp.retrbinary("RETR hello.bin", got.write)
        assert got.getvalue() == payload
        name = f"up-{'pasv' if passive else 'port'}.bin"
        ftp.storbinary(f"STOR {name}", io.BytesIO(payload))
        assert (srv.root / name).read_bytes() == payload
        return WORKED

    def plain(srv, passive):
        with ftplib.FTP() as ftp:
            ftp.connect(srv.host, srv.port, timeout=10)
            ftp.login(srv.user, srv.password)
            return exercise(ftp, srv, passive)

    def explicit(cls, srv):
        with cls(context=srv.client_context()) as ftp:
            ftp.connect(srv.host, srv.port, timeout=10)
            ftp.login(srv.user, srv.password)
            ftp.prot_p()
            try:
                return exercise(ftp, srv)
            except ftplib.error_perm as e:
                return f"failed: {e}"

    def implicit(cls, srv):
        with cls(context=srv.client_context()) as ftp:
            ftp.connect(srv.host, srv.port, timeout=10)
            ftp.login(srv.user, srv.password)
            ftp.prot_p()
            return exercise(ftp, srv)

    class ImplicitReusing(ImplicitFTP_TLS, ReusingFTP_TLS):
        pass

    checks = [
        ("plain, passive", {}, lambda s: plain(s, True), WORKED),
        ("plain, active (PORT)", {}, lambda s: plain(s, False), WORKED),
        (
            "explicit, reuse=NO, ftplib.FTP_TLS",
            {"tls": "explicit", "require_ssl_reuse": False},
            lambda s: explicit(ftplib.FTP_TLS, s),
            WORKED,
        ),
        (
            "explicit, reuse=YES, ftplib.FTP_TLS",
            {"tls": "explicit", "require_ssl_reuse": True},
            lambda s: explicit(ftplib.FTP_TLS, s),
            REFUSED,
        ),
        (
            "explicit, reuse=YES, session-reusing",
            {"tls": "explicit", "require_ssl_reuse": True},
            lambda s: explicit(ReusingFTP_TLS, s),
            WORKED,
        ),
        (
            "implicit, reuse=NO",
            {"tls": "implicit", "require_ssl_reuse": False},
            lambda s: implicit(ImplicitFTP_TLS, s),
            WORKED,
        ),
        (
            "implicit, reuse=YES, session-reusing",
            {"tls": "implicit", "require_ssl_reuse": True},
            lambda s: implicit(ImplicitReusing, s),
            WORKED,
        ),
    ]
    failures = 0
    with tempfile.TemporaryDirectory(prefix="vsftpd-check-") as tmp:
        for name, kwargs, check, expect in checks:
            root = Path(tmp) / name.replace(" ", "").replace(",", "-").replace("=", "")
            root.mkdir()
            (root / "hello.bin").write_bytes(payload)
            with Vsftpd(root, **kwargs) as srv:
                try:
                    outcome = check(srv)
                except Exception as e:  # noqa: BLE001  (report every mode, then fail)
                    outcome = f"error: {type(e).__name__}: {e}"
            good = outcome.startswith(expect)
            failures += not good
            print(f"{'PASS' if good else 'FAIL'}  {name:40} {outcome}")
    return failures


if __name__ == "__main__":
    raise SystemExit(1 if _self_check() else 0)
