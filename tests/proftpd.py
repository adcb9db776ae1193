"""Start and stop a real ProFTPD (with mod_tls) on 127.0.0.1 or ::1.

    with Proftpd(root, tls="explicit") as srv:
        ftp = ftplib.FTP_TLS(context=srv.client_context())
        ftp.connect(srv.host, srv.port)
        ftp.login(srv.user, srv.password)
        ftp.prot_p()

Why ProFTPD: its mod_tls requires, by default, that every data connection
resumes the control connection's TLS session, and checks it more strictly than
vsftpd's ``require_ssl_reuse`` (it compares the data connection's session with
the control connection's). ``require_reuse=False`` sets
``TLSOptions NoSessionReuseRequired``. ``tls``: None (plain FTP), 'explicit'
(AUTH TLS, required on control and data) or 'implicit' (``UseImplicitSSL``).
``tls_protocols``: what the server accepts, e.g. ``"TLSv1.3"``.

The login is a virtual user (``AuthUserFile``) with the uid of the local
account ``user``; ``DefaultRoot ~`` chroots it into ``root``, so its paths
start at ``/``. ``srv.tls_log()`` reads mod_tls's log ("client did not reuse
TLS session" and the like).

Needs root and the unpacked Debian packages proftpd-core and proftpd-mod-crypto
(see tests/launcher.py); ``python tests/proftpd.py`` is a self-check with ftplib.
"""

from __future__ import annotations

import grp
import pwd

from launcher import SERVERS_DIR, ServerProcess, crypt_sha512, find_binary

__all__ = ["Proftpd"]


class Proftpd(ServerProcess):
    NAME = "proftpd"

    def __init__(
        self, root, *, require_reuse=True, tls_protocols="TLSv1.2 TLSv1.3", **kwargs
    ):
        self.binary = find_binary("usr/sbin/proftpd", env="PROFTPD")
        self.module_path = SERVERS_DIR / "usr/lib/proftpd"
        if not (self.module_path / "mod_tls.so").exists():
            find_binary("usr/lib/proftpd/mod_tls.so")  # raises, naming the package
        super().__init__(root, **kwargs)
        self.require_reuse = require_reuse
        self.tls_protocols = tls_protocols
        self.config_path = None
        self.tls_log_path = None

    def tls_log(self):
        """mod_tls's log so far ('' once stopped or without TLS)."""
        try:
            return self.tls_log_path.read_text(errors="replace")
        except (OSError, AttributeError):
            return ""

    def _prepare(self):
        state, account = self.state_dir, self.account
        group = grp.getgrgid(account.pw_gid).gr_name
        passwd, group_file = state / "ftpd.passwd", state / "ftpd.group"
        passwd.write_text(
            f"{self.user}:{crypt_sha512(self.password)}:{account.pw_uid}:{account.pw_gid}"
            f"::{self.root}:/bin/sh\n"
        )
        group_file.write_text(f"{group}:x:{account.pw_gid}:{self.user}\n")
        for path in (passwd, group_file):
            path.chmod(0o600)  # mod_auth_file refuses world-readable files
        self.tls_log_path = state / "tls.log"

    def _config(self):
        nobody = pwd.getpwnam("nobody")
        pasv_min, pasv_max = self.pasv_range
        lines = [
            'ServerName "rftplib test"',
            "ServerType standalone",
            f"DefaultAddress {self.host}",
            "SocketBindTight on",
            f"UseIPv6 {'on' if ':' in self.host else 'off'}",
            f"Port {self.port}",
            f"User {nobody.pw_name}",
            f"Group {grp.getgrgid(nobody.pw_gid).gr_name}",
            f"PidFile {self.state_dir / 'proftpd.pid'}",
            f"ScoreboardFile {self.state_dir / 'proftpd.scoreboard'}",
            f"SystemLog {self.log_path}",
            "DelayTable none",
            "WtmpLog off",
            "UseReverseDNS off",
            "MaxInstances 100",
            f"ModulePath {self.module_path}",
            "AuthOrder mod_auth_file.c",
            f"AuthUserFile {self.state_dir / 'ftpd.passwd'}",
            f"AuthGroupFile {self.state_dir / 'ftpd.group'}",
            "RequireValidShell off",
            "DefaultRoot ~",
            f"PassivePorts {pasv_min} {pasv_max}",
            "AllowOverwrite on",
            "AllowRetrieveRestart on",
            "AllowStoreRestart on",
            "Umask 022",
        ]
        if self.tls:
            options = ["NoSessionReuseRequired"] if not self.require_reuse else []
            if self.tls == "implicit":
                options.append("UseImplicitSSL")
            lines += [
                "LoadModule mod_tls.c",
                "TLSEngine on",
                f"TLSLog {self.tls_log_path}",
                f"TLSProtocol {self.tls_protocols}",
                "TLSRequired on",
                f"TLSRSACertificateFile {self.certfile}",
                f"TLSRSACertificateKeyFile {self.keyfile}",
                "TLSVerifyClient off",
            ]
            if options:
                lines.append(f"TLSOptions {' '.join(options)}")
        return "".join(line + "\n" for line in lines)

    def _argv(self):
        self.config_path = self.state_dir / "proftpd.conf"
        self.config_path.write_text(self._config())
        # -n: foreground, -q: quiet; no -d: its debug output would fill the log.
        return [self.binary, "-n", "-q", "-c", str(self.config_path)]


# -- self-check: python tests/proftpd.py ------------------------------------------


def _self_check():
    import ftplib
    import io
    import os
    import tempfile
    from pathlib import Path

    from vsftpd import ReusingFTP_TLS

    payload = os.urandom(3 * 65536 + 123)
    failures = 0
    with tempfile.TemporaryDirectory(prefix="proftpd-check-") as tmp:
        for tls in (None, "explicit"):
            root = Path(tmp) / str(tls)
            root.mkdir()
            (root / "hello.bin").write_bytes(payload)
            with Proftpd(root, tls=tls) as srv:
                try:
                    if tls:
                        ftp = ReusingFTP_TLS(context=srv.client_context(), timeout=10)
                    else:
                        ftp = ftplib.FTP(timeout=10)
                    with ftp:
                        ftp.connect(srv.host, srv.port)
                        ftp.login(srv.user, srv.password)
                        if tls:
                            ftp.prot_p()
                        got = io.BytesIO()
                        ftp.retrbinary("RETR hello.bin", got.write)
                        ftp.storbinary("STOR up.bin", io.BytesIO(payload))
                        ok = (
                            got.getvalue() == payload
                            and (root / "up.bin").read_bytes() == payload
                        )
                        detail = ""
                except Exception as e:  # noqa: BLE001  (report every mode, then fail)
                    ok, detail = (
                        False,
                        f"{type(e).__name__}: {e}\n{srv.read_log()}{srv.tls_log()}",
                    )
                failures += not ok
                print(f"{'PASS' if ok else 'FAIL'}  tls={tls}  {detail}")
    return failures


if __name__ == "__main__":
    raise SystemExit(1 if _self_check() else 0)
