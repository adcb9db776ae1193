"""Every server of the interop tests, started on first use and kept until the
end of the session: one per (kind, TLS mode, address).

    farm = ServerFarm(base)
    srv = farm.get("proftpd", "explicit", "::1")
    ftp = rftplib.FTP_TLS(context=srv.client_context()) ...
    farm.close()

Kinds: vsftpd (tests/vsftpd.py), proftpd (tests/proftpd.py, mod_tls),
pureftpd (tests/pureftpd.py) and pyftpdlib (tests/servers.py, in this
process). TLS modes: None, 'explicit' (TLS required on control and data and,
where the server can check it, TLS session reuse required) and 'implicit'.
Each server serves a root of its own holding support.CONTENT plus HUGE_NAME
(large enough that a RETR of it is still running when the client aborts),
owned by the login account. ``srv.home`` is the directory a login starts in,
as the server names it (``/`` where the server chroots, else the real path).

No pytest here and no skips: a server that cannot start raises.
"""

from __future__ import annotations

import os
import random
import ssl
from pathlib import Path

from support import CONTENT

__all__ = ["HUGE_NAME", "HUGE_SIZE", "KINDS", "ServerFarm", "huge_payload", "supports"]

KINDS = ("vsftpd", "proftpd", "pureftpd", "pyftpdlib")
HUGE_NAME = "huge.bin"
HUGE_SIZE = 24 * 1024 * 1024  # beyond what loopback socket buffers hold
_huge = None


def huge_payload():
    global _huge
    if _huge is None:
        _huge = random.Random(4217).randbytes(HUGE_SIZE)
    return _huge


def supports(kind, what):
    """What each server does: 'implicit' FTPS, 'mlsd', 'reuse' (can require TLS session reuse)."""
    table = {
        "vsftpd": {"implicit", "reuse"},
        "proftpd": {"implicit", "reuse", "mlsd"},
        "pureftpd": {"mlsd"},
        "pyftpdlib": {"mlsd"},
    }
    return what in table[kind]


class ServerFarm:
    def __init__(self, base):
        self.base = Path(base)
        self.base.mkdir(parents=True, exist_ok=True)
        self.base.chmod(0o755)
        self._servers = {}
        self._huge_file = None

    def get(self, kind, tls=None, host="127.0.0.1"):
        key = (kind, tls, host)
        if key not in self._servers:
            self._servers[key] = self._start(kind, tls, host)
        return self._servers[key]

    def close(self):
        servers, self._servers = self._servers, {}
        for srv in servers.values():
            srv.stop()

    def _root(self, kind, tls, host):
        root = (
            self.base
            / f"{kind}-{tls or 'plain'}-{'v6' if ':' in host else 'v4'}"
            / "root"
        )
        root.parent.mkdir()
        root.parent.chmod(0o755)
        root.mkdir()
        for name, data in CONTENT.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        (root / "sub" / "deeper").mkdir()
        if self._huge_file is None:
            self._huge_file = self.base / HUGE_NAME
            self._huge_file.write_bytes(huge_payload())
        os.link(self._huge_file, root / HUGE_NAME)  # one copy on disk for every root
        return root

    def _start(self, kind, tls, host):
        root = self._root(kind, tls, host)
        if kind == "vsftpd":
            from vsftpd import Vsftpd

            srv = Vsftpd(root, tls=tls, host=host, require_ssl_reuse=True)
        elif kind == "proftpd":
            from proftpd import Proftpd

            srv = Proftpd(root, tls=tls, host=host, require_reuse=True)
        elif kind == "pureftpd":
            from pureftpd import PureFtpd

            srv = PureFtpd(root, tls=tls, host=host, tls_required=True)
        elif kind == "pyftpdlib":
            return self._start_pyftpdlib(root, tls, host)
        else:
            raise ValueError(f"unknown server kind {kind!r}")
        srv.start()
        # Where a login starts: ProFTPD chroots (DefaultRoot ~), the others
        # show the real path.
        srv.home = "/" if kind == "proftpd" else os.path.realpath(root)
        return srv

    def _start_pyftpdlib(self, root, tls, host):
        from servers import PyftpdlibThreaded
        from vsftpd import make_self_signed_cert

        if tls not in (None, "explicit"):
            raise ValueError("pyftpdlib has no implicit FTPS")
        kwargs = {}
        certfile = None
        if tls:
            certfile, keyfile = make_self_signed_cert(root.parent)
            kwargs = {
                "tls": True,
                "certfile": certfile,
                "keyfile": keyfile,
                "tls_control_required": True,
                "tls_data_required": True,
            }
        srv = PyftpdlibThreaded(root, host=host, anonymous=False, **kwargs)
        srv.start()
        srv.tls = tls
        srv.certfile = certfile
        srv.client_context = lambda: ssl.create_default_context(cafile=certfile)
        srv.home = "/"
        return srv
