"""The common usage again, against vsftpd: a fast C server in another process.

vsftpd is not chrooted here, so paths are the real absolute paths, and it
has no MLSD.
"""

import io
import os
from concurrent.futures import ThreadPoolExecutor

import pytest
from support import CONTENT, NON_ASCII_NAME, TOP_LEVEL, connect, file_sha256, sha256


@pytest.fixture
def vftp(lib, vsftpd):
    client = connect(lib, vsftpd)
    yield client
    client.close()


def test_welcome_and_login(lib, vsftpd):
    ftp = connect(lib, vsftpd, login=False)
    try:
        assert ftp.getwelcome() == "220 (vsFTPd 3.0.3)"
        assert ftp.login(vsftpd.user, vsftpd.password) == "230 Login successful."
    finally:
        ftp.close()


def test_wrong_password(lib, vsftpd):
    ftp = connect(lib, vsftpd, login=False)
    try:
        with pytest.raises(lib.error_perm) as excinfo:
            ftp.login(vsftpd.user, "wrong")
        assert str(excinfo.value) == "530 Login incorrect."
    finally:
        ftp.close()


def test_pwd_cwd_and_cwd_dotdot(vftp, root):
    top = os.path.realpath(root)
    assert vftp.pwd() == top
    assert vftp.cwd("sub") == "250 Directory successfully changed."
    assert vftp.pwd() == f"{top}/sub"
    assert vftp.cwd("..") == "250 Directory successfully changed."
    assert vftp.pwd() == top


def test_retrbinary(vftp):
    chunks = []
    assert vftp.retrbinary("RETR big.bin", chunks.append) == "226 Transfer complete."
    assert sha256(b"".join(chunks)) == sha256(CONTENT["big.bin"])


def test_retrbinary_blocksize_and_rest(vftp):
    chunks = []
    vftp.retrbinary("RETR big.bin", chunks.append, blocksize=5000, rest=777)
    assert all(0 < len(c) <= 5000 for c in chunks)
    assert sha256(b"".join(chunks)) == sha256(CONTENT["big.bin"][777:])


def test_retrbinary_non_ascii_name(vftp):
    chunks = []
    vftp.retrbinary(f"RETR {NON_ASCII_NAME}", chunks.append)
    assert b"".join(chunks) == CONTENT[NON_ASCII_NAME]


def test_retrbinary_missing_file(lib, vftp):
    with pytest.raises(lib.error_perm) as excinfo:
        vftp.retrbinary("RETR missing.bin", lambda data: None)
    assert str(excinfo.value) == "550 Failed to open file."


def test_storbinary(vftp, root):
    data = CONTENT["big.bin"]
    assert vftp.storbinary("STOR up.bin", io.BytesIO(data)) == "226 Transfer complete."
    assert file_sha256(root / "up.bin") == sha256(data)


def test_storbinary_with_rest(vftp, root):
    data = CONTENT["medium.bin"]
    vftp.storbinary("STOR part.bin", io.BytesIO(data[:50_000]))
    vftp.storbinary("STOR part.bin", io.BytesIO(data[50_000:]), rest=50_000)
    assert file_sha256(root / "part.bin") == sha256(data)


def test_storlines_sends_crlf(vftp, root):
    # vsftpd stores ASCII uploads as received: the CRLFs are the client's.
    vftp.storlines("STOR lines.txt", io.BytesIO(b"one\ntwo\r\nthree"))
    assert (root / "lines.txt").read_bytes() == b"one\r\ntwo\r\nthree\r\n"


def test_listings(vftp, capsys):
    assert sorted(vftp.nlst()) == TOP_LEVEL
    assert sorted(vftp.nlst("sub")) == ["sub/deeper", "sub/inner.bin"]
    lines = []
    assert vftp.retrlines("LIST", lines.append) == "226 Directory send OK."
    assert sorted(line.split(None, 8)[8] for line in lines) == TOP_LEVEL
    assert vftp.dir("sub") is None
    assert sorted(
        line.split()[-1] for line in capsys.readouterr().out.splitlines()
    ) == ["deeper", "inner.bin"]


def test_mlsd_is_unknown_to_vsftpd(lib, vftp):
    with pytest.raises(lib.error_perm) as excinfo:
        list(vftp.mlsd())
    assert str(excinfo.value) == "500 Unknown command."


def test_size_mkd_rmd_rename_delete(vftp, root):
    vftp.sendcmd("TYPE I")
    assert vftp.size("big.bin") == len(CONTENT["big.bin"])
    top = os.path.realpath(root)
    assert vftp.mkd("made") == f"{top}/made"
    assert vftp.rmd("made") == "250 Remove directory operation successful."
    assert vftp.rename("small.bin", "moved.bin") == "250 Rename successful."
    assert (root / "moved.bin").read_bytes() == CONTENT["small.bin"]
    assert vftp.delete("moved.bin") == "250 Delete operation successful."
    assert not (root / "moved.bin").exists()


def test_active_mode(vftp, root):
    vftp.set_pasv(False)
    chunks = []
    vftp.retrbinary("RETR medium.bin", chunks.append)
    assert sha256(b"".join(chunks)) == sha256(CONTENT["medium.bin"])
    vftp.storbinary("STOR active.bin", io.BytesIO(CONTENT["medium.bin"]))
    assert file_sha256(root / "active.bin") == sha256(CONTENT["medium.bin"])


def test_transfercmd_socket(vftp):
    vftp.voidcmd("TYPE I")
    conn, size = vftp.ntransfercmd("RETR medium.bin")
    with conn, conn.makefile("rb") as fp:
        data = fp.read()
    # vsftpd's 150 reply carries the size: "... for medium.bin (300001 bytes)."
    assert size == len(CONTENT["medium.bin"])
    assert vftp.voidresp() == "226 Transfer complete."
    assert data == CONTENT["medium.bin"]


def test_abort_after_a_callback_raises(vftp):
    # vsftpd (async_abor_enable=NO) reads ABOR only once the transfer has
    # ended; fsspec's pattern closes the data connection first, so it has.
    class Stop(Exception):
        pass

    def callback(data):
        raise Stop

    with pytest.raises(Stop):
        vftp.retrbinary("RETR big.bin", callback)
    assert vftp.abort()[:3] in {"426", "225", "226"}
    assert vftp.getmultiline()[:3] in {"225", "226"}
    assert vftp.voidcmd("NOOP") == "200 NOOP ok."


def test_context_manager(lib, vsftpd):
    with lib.FTP(timeout=10) as ftp:
        ftp.connect(vsftpd.host, vsftpd.port)
        ftp.login(vsftpd.user, vsftpd.password)
        assert ftp.voidcmd("NOOP") == "200 NOOP ok."
    assert ftp.sock is None


def test_four_threads_download(lib, vsftpd):
    def download(name):
        ftp = connect(lib, vsftpd)
        try:
            chunks = []
            ftp.retrbinary(f"RETR {name}", chunks.append, blocksize=65536)
            return sha256(b"".join(chunks))
        finally:
            ftp.close()

    names = ["big.bin"] * 4
    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(download, names)) == [sha256(CONTENT["big.bin"])] * 4


def test_ftp_tls_without_session_reuse_requirement(lib, root):
    from vsftpd import Vsftpd

    with Vsftpd(root, tls="explicit", require_ssl_reuse=False) as srv:
        ftps = lib.FTP_TLS(context=srv.client_context(), timeout=10)
        try:
            ftps.connect(srv.host, srv.port)
            ftps.login(srv.user, srv.password)
            ftps.prot_p()
            chunks = []
            ftps.retrbinary("RETR medium.bin", chunks.append)
            assert sha256(b"".join(chunks)) == sha256(CONTENT["medium.bin"])
            ftps.storbinary("STOR tls.bin", io.BytesIO(CONTENT["small.bin"]))
        finally:
            ftps.close()
    assert (root / "tls.bin").read_bytes() == CONTENT["small.bin"]
