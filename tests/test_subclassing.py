"""Subclasses that override ftplib's methods, as published code does.

ftplib's methods call each other through ``self``, so an override of one
(makepasv, ntransfercmd, putcmd, connect, the ``sock`` attribute) changes
what the others do. A drop-in must route through the same methods.
"""

import io
import socket
import ssl

from support import CONTENT, TIMEOUT, TOP_LEVEL, file_sha256, sha256


def login(ftp, srv):
    ftp.connect(srv.host, srv.port)
    ftp.login(srv.user, srv.password)
    return ftp


def test_makepasv_override_is_used_by_transfers(lib, ftpd):
    # The usual NAT fix: keep the port from the reply, use the control host.
    class NatFTP(lib.FTP):
        calls = 0

        def makepasv(self):
            NatFTP.calls += 1
            _host, port = super().makepasv()
            return self.host, port

    ftp = login(NatFTP(timeout=TIMEOUT), ftpd)
    try:
        chunks = []
        ftp.retrbinary("RETR medium.bin", chunks.append)
        assert sorted(ftp.nlst()) == TOP_LEVEL
    finally:
        ftp.close()
    assert sha256(b"".join(chunks)) == sha256(CONTENT["medium.bin"])
    assert NatFTP.calls == 2


def test_ntransfercmd_override_is_used_by_every_transfer(lib, ftpd, root):
    seen = []

    class Tracing(lib.FTP):
        def ntransfercmd(self, cmd, rest=None):
            seen.append((cmd, rest))
            return super().ntransfercmd(cmd, rest)

    ftp = login(Tracing(timeout=TIMEOUT), ftpd)
    try:
        ftp.retrbinary("RETR small.bin", lambda data: None, rest=10)
        ftp.storbinary("STOR up.bin", io.BytesIO(b"up"))
        ftp.storlines("STOR up.txt", io.BytesIO(b"line\n"))
        ftp.retrlines("LIST", lambda line: None)
        ftp.nlst()
        ftp.dir(lambda line: None)
        list(ftp.mlsd())
    finally:
        ftp.close()
    assert seen == [
        ("RETR small.bin", 10),
        ("STOR up.bin", None),
        ("STOR up.txt", None),
        ("LIST", None),
        ("NLST", None),
        ("LIST", None),
        ("MLSD", None),
    ]
    assert (root / "up.bin").read_bytes() == b"up"


def test_transfercmd_override_is_used_by_retrbinary(lib, ftpd):
    conns = []

    class Wrapping(lib.FTP):
        def transfercmd(self, cmd, rest=None):
            conn = super().transfercmd(cmd, rest)
            conns.append(conn)
            return conn

    ftp = login(Wrapping(timeout=TIMEOUT), ftpd)
    try:
        chunks = []
        ftp.retrbinary("RETR small.bin", chunks.append)
    finally:
        ftp.close()
    assert b"".join(chunks) == CONTENT["small.bin"]
    assert len(conns) == 1
    assert conns[0].fileno() == -1  # retrbinary closed it


def test_putcmd_override_sees_every_command(lib, ftpd):
    sent = []

    class Logging(lib.FTP):
        def putcmd(self, line):
            sent.append(line)
            super().putcmd(line)

    ftp = login(Logging(timeout=TIMEOUT), ftpd)
    try:
        ftp.voidcmd("NOOP")
        ftp.pwd()
        ftp.retrbinary("RETR small.bin", lambda data: None)
    finally:
        ftp.close()
    assert sent == [
        f"USER {ftpd.user}",
        f"PASS {ftpd.password}",
        "NOOP",
        "PWD",
        "TYPE I",
        "PASV",
        "RETR small.bin",
    ]


def test_connect_override_that_sets_sock_and_file(lib, ftpd):
    # The shape of implicit-FTPS subclasses: connect() builds the socket
    # itself and fills in sock, af, file and welcome.
    class OwnConnect(lib.FTP):
        def connect(self, host="", port=0, timeout=-999, source_address=None):
            if host:
                self.host = host
            if port > 0:
                self.port = port
            if timeout != -999:
                self.timeout = timeout
            self.sock = socket.create_connection((self.host, self.port), self.timeout)
            self.af = self.sock.family
            self.file = self.sock.makefile("r", encoding=self.encoding)
            self.welcome = self.getresp()
            return self.welcome

    ftp = OwnConnect(timeout=TIMEOUT)
    try:
        assert ftp.connect(ftpd.host, ftpd.port) == "220 pyftpdlib ready."
        ftp.login(ftpd.user, ftpd.password)
        chunks = []
        ftp.retrbinary("RETR medium.bin", chunks.append)
        assert sha256(b"".join(chunks)) == sha256(CONTENT["medium.bin"])
        assert ftp.quit() == "221 Goodbye."
    finally:
        ftp.close()
    assert ftp.sock is None and ftp.file is None


def test_implicit_ftps_through_a_sock_property(lib, root):
    # The widely copied recipe: a `sock` property that wraps whatever socket
    # ftplib assigns, so TLS starts before the greeting.
    from vsftpd import Vsftpd

    class ImplicitFTP_TLS(lib.FTP_TLS):
        def __init__(self, *args, **kwargs):
            self._sock = None
            super().__init__(*args, **kwargs)

        @property
        def sock(self):
            return self._sock

        @sock.setter
        def sock(self, value):
            if value is not None and not isinstance(value, ssl.SSLSocket):
                value = self.context.wrap_socket(value, server_hostname=self.host)
            self._sock = value

    with Vsftpd(root, tls="implicit", require_ssl_reuse=False) as srv:
        ftps = ImplicitFTP_TLS(context=srv.client_context(), timeout=TIMEOUT)
        try:
            assert ftps.connect(srv.host, srv.port) == "220 (vsFTPd 3.0.3)"
            assert isinstance(ftps.sock, ssl.SSLSocket)
            ftps.login(srv.user, srv.password)
            ftps.prot_p()
            chunks = []
            ftps.retrbinary("RETR medium.bin", chunks.append)
            assert sha256(b"".join(chunks)) == sha256(CONTENT["medium.bin"])
        finally:
            ftps.close()


def test_prot_p_state_is_readable(lib, ftpd_tls, tls_ca):
    ftps = lib.FTP_TLS(context=tls_ca.client_context(), timeout=TIMEOUT)
    try:
        login(ftps, ftpd_tls)
        assert ftps._prot_p is False
        ftps.prot_p()
        assert ftps._prot_p is True
        ftps.prot_c()
        assert ftps._prot_p is False
    finally:
        ftps.close()


def test_ntransfercmd_override_can_neuter_unwrap(lib, ftpd_tls, tls_ca, root):
    # Code for servers that never answer close_notify replaces the data
    # socket's unwrap(); the retr*/stor* methods look it up on the socket.
    unwrapped = []

    class NoUnwrap(lib.FTP_TLS):
        def ntransfercmd(self, cmd, rest=None):
            conn, size = super().ntransfercmd(cmd, rest)
            conn.unwrap = lambda: unwrapped.append(cmd)
            return conn, size

    ftps = NoUnwrap(context=tls_ca.client_context(), timeout=TIMEOUT)
    try:
        login(ftps, ftpd_tls)
        ftps.prot_p()
        chunks = []
        ftps.retrbinary("RETR medium.bin", chunks.append)
        ftps.storbinary("STOR up.bin", io.BytesIO(CONTENT["small.bin"]))
    finally:
        ftps.close()
    assert unwrapped == ["RETR medium.bin", "STOR up.bin"]
    assert sha256(b"".join(chunks)) == sha256(CONTENT["medium.bin"])
    assert file_sha256(root / "up.bin") == sha256(CONTENT["small.bin"])
