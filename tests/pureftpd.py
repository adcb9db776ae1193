"""Start and stop a real pure-ftpd on 127.0.0.1 or ::1, for tests and benchmarks.

    with PureFtpd(root) as srv:
        ftp = ftplib.FTP_TLS(context=srv.client_context())
        ftp.connect(srv.host, srv.port)
        ftp.login(srv.user, srv.password)
        ftp.prot_p()

Why: a third C server with its own TLS code, and a cheap one: vsftpd spends
~2 CPU seconds per GiB on its own TLS, so every FTPS client looks alike against
it; pure-ftpd with ``-Y 3`` is cheap enough on TLS that a client's own speed shows.

``tls``: 'explicit' (default: AUTH TLS; ``tls_required=True`` is ``-Y 3``, TLS
required on the control connection and every data connection, ``False`` is
``-Y 1``, TLS offered) or None (``-Y 0``, plain FTP). Debian's build has no
implicit FTPS. pure-ftpd does not check TLS session reuse.

pure-ftpd runs in the foreground (no ``-B``) as a child of this process, on a
free port with a passive range of its own. Logins are virtual users in a
PureDB file of its own (``-l puredb:``), mapped to the local account ``user``
(created as tests/vsftpd.py does if it is missing; an existing account's
system password is left alone), whose home (no chroot) is ``root``: paths are
the real absolute paths. Needs root and the pure-ftpd and pure-pw binaries,
unpacked from the Debian package (see tests/launcher.py; ``apt-get install
pure-ftpd`` would remove vsftpd); looked for at ``$PURE_FTPD``, then under
``$RFTPLIB_SERVERS``, then /usr/sbin/pure-ftpd and /opt/pure-ftpd.

Every transfer is logged in xferlog format; ``srv.transfers()`` reads it back,
so a benchmark can check how many bytes the server really sent or received.

``python tests/pureftpd.py`` is a self-check with stdlib ftplib.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import NamedTuple

from launcher import INSTALL_HINT, ServerProcess, crypt_sha512, find_binary

__all__ = ["PureFtpd", "Transfer", "find_pure_ftpd", "pureftpd_version"]


def find_pure_ftpd():
    """(pure-ftpd, pure-pw) paths, or RuntimeError saying how to install them."""
    binary = find_binary(
        "usr/sbin/pure-ftpd",
        env="PURE_FTPD",
        also=["/usr/sbin/pure-ftpd", "/opt/pure-ftpd/usr/sbin/pure-ftpd"],
    )
    beside = Path(binary).resolve().parent.parent / "bin" / "pure-pw"
    pure_pw = str(beside) if os.access(beside, os.X_OK) else shutil.which("pure-pw")
    if pure_pw is None:
        raise RuntimeError(f"pure-pw is missing (next to {binary}): {INSTALL_HINT}")
    return binary, pure_pw


class Transfer(NamedTuple):
    """One line of pure-ftpd's transfer log."""

    size: int  # bytes actually sent or received (less than the file if cut short)
    path: str  # absolute path on the server
    direction: str  # 'o': outgoing (RETR), 'i': incoming (STOR)


class PureFtpd(ServerProcess):
    NAME = "pure-ftpd"
    TLS_MODES = (None, "explicit")

    def __init__(self, root, *, tls="explicit", tls_required=True, **kwargs):
        self.binary, self.pure_pw = find_pure_ftpd()
        super().__init__(root, tls=tls, **kwargs)
        self.tls_required = tls_required
        self.xferlog_path = None
        self.puredb_path = None
        self.pem_path = None

    def __repr__(self):
        state = "running" if self.running else "stopped"
        return (
            f"<PureFtpd {self.host}:{self.port} tls={self.tls} "
            f"tls_required={self.tls_required} root={self.root} {state}>"
        )

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

    def _prepare(self):
        self.xferlog_path = self.state_dir / "xfer.log"
        account = self.account
        # login:hash:uid:gid:gecos:home (no '/./': no chroot), then optional
        # limits. A $6$ hash, not pure-pw's default argon2id, which costs ~2.5
        # CPU seconds per login and would swamp the server CPU.
        passwd = self.state_dir / "pureftpd.passwd"
        entry = f"{self.user}:{crypt_sha512(self.password)}:{account.pw_uid}:{account.pw_gid}::{self.root}"
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
        if self.tls:
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
        ipv6 = ":" in self.host
        argv = [
            self.binary,
            "-f", "none",  # no syslog (first, as the manual asks)
            "-S", f"{self.host},{self.port}",
            "-6" if ipv6 else "-4",
            "-H",  # no reverse DNS
            "-E",  # no anonymous logins
            "-l", f"puredb:{self.puredb_path}",
            "-p", f"{pasv_min}:{pasv_max}",
            "-O", f"xferlog:{self.xferlog_path}",
        ]  # fmt: skip
        if not ipv6:
            argv += ["-P", self.host]
        if self.tls:
            argv += ["-Y", "3" if self.tls_required else "1", "-2", str(self.pem_path)]
        else:
            argv += ["-Y", "0"]
        return argv


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


# -- self-check: python tests/pureftpd.py ------------------------------------


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
