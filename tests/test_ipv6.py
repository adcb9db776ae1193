"""IPv6: EPSV/EPRT are used when the control connection is AF_INET6."""

import io
import socket

from faultserver import Accept, DataClose, DataSend, Epsv, FaultServer, PortConnect
from support import CONTENT, TIMEOUT, connect, file_sha256, sha256


def test_af_is_inet6(lib, ftpd6):
    ftp = connect(lib, ftpd6)
    try:
        assert ftp.af == socket.AF_INET6
        assert ftp.sock.family == socket.AF_INET6
        assert ftp.sock.getpeername()[:2] == ("::1", ftpd6.port)
    finally:
        ftp.close()


def test_passive_transfer(lib, ftpd6):
    ftp = connect(lib, ftpd6)
    try:
        chunks = []
        assert ftp.retrbinary("RETR big.bin", chunks.append) == "226 Transfer complete."
        assert sha256(b"".join(chunks)) == sha256(CONTENT["big.bin"])
        assert dict(ftp.mlsd())["sub"]["type"] == "dir"
    finally:
        ftp.close()


def test_active_transfer(lib, ftpd6, root):
    ftp = connect(lib, ftpd6)
    try:
        ftp.set_pasv(False)
        ftp.storbinary("STOR up6.bin", io.BytesIO(CONTENT["medium.bin"]))
        assert file_sha256(root / "up6.bin") == sha256(CONTENT["medium.bin"])
        chunks = []
        ftp.retrbinary("RETR up6.bin", chunks.append)
        assert sha256(b"".join(chunks)) == sha256(CONTENT["medium.bin"])
    finally:
        ftp.close()


def test_makepasv_uses_the_control_peer(lib, ftpd6):
    ftp = connect(lib, ftpd6)
    try:
        host, port = ftp.makepasv()
        assert host == "::1"
        assert isinstance(port, int) and port > 0
    finally:
        ftp.close()


def test_passive_mode_sends_epsv_not_pasv(lib):
    script = [
        (None, ["220 v6"]),
        ("TYPE I", ["200 ok"]),
        ("EPSV", [Epsv()]),
        ("RETR x", ["150 go", Accept(), DataSend(b"six"), DataClose(), "226 done"]),
    ]
    with FaultServer(script, family=socket.AF_INET6) as srv:
        ftp = lib.FTP(timeout=TIMEOUT)
        try:
            ftp.connect(srv.host, srv.port)
            chunks = []
            assert ftp.retrbinary("RETR x", chunks.append) == "226 done"
            assert chunks == [b"six"]
        finally:
            ftp.close()
    assert srv.commands == ["TYPE I", "EPSV", "RETR x"]


def test_active_mode_sends_eprt(lib):
    script = [
        (None, ["220 v6"]),
        ("TYPE I", ["200 ok"]),
        ("EPRT |2|::1|", ["200 EPRT ok"]),
        (
            "RETR x",
            ["150 go", PortConnect(), DataSend(b"active six"), DataClose(), "226 done"],
        ),
    ]
    with FaultServer(script, family=socket.AF_INET6) as srv:
        ftp = lib.FTP(timeout=TIMEOUT)
        try:
            ftp.connect(srv.host, srv.port)
            ftp.set_pasv(False)
            chunks = []
            assert ftp.retrbinary("RETR x", chunks.append) == "226 done"
            assert b"".join(chunks) == b"active six"
        finally:
            ftp.close()


def test_makeport_sends_eprt_and_listens_on_ipv6(lib):
    script = [(None, ["220 v6"]), ("EPRT |2|::1|", ["200 EPRT ok"])]
    with FaultServer(script, family=socket.AF_INET6) as srv:
        ftp = lib.FTP(timeout=TIMEOUT)
        try:
            ftp.connect(srv.host, srv.port)
            with ftp.makeport() as listener:
                assert listener.family == socket.AF_INET6
                port = listener.getsockname()[1]
        finally:
            ftp.close()
    assert srv.commands == [f"EPRT |2|::1|{port}|"]
