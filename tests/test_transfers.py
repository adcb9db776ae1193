"""Data transfers: retrbinary, storbinary, storlines, transfercmd, active mode, abort."""

import io
import socket

import pytest
from support import CONTENT, NON_ASCII_NAME, connect, file_sha256, sha256


@pytest.mark.parametrize(
    "name", ["small.bin", "big.bin", "empty.bin", NON_ASCII_NAME, "sub/inner.bin"]
)
def test_retrbinary_to_a_file(ftp, tmp_path, name):
    target = tmp_path / "download.bin"
    with open(target, "wb") as fp:
        resp = ftp.retrbinary(f"RETR {name}", fp.write)
    assert resp == "226 Transfer complete."
    assert file_sha256(target) == sha256(CONTENT[name])


@pytest.mark.parametrize("blocksize", [1, 1000, 8192, 1 << 20])
def test_retrbinary_chunks_never_exceed_blocksize(ftp, blocksize):
    name = "small.bin" if blocksize == 1 else "big.bin"
    chunks = []
    ftp.retrbinary(f"RETR {name}", chunks.append, blocksize=blocksize)
    assert all(isinstance(c, bytes) for c in chunks)
    assert all(0 < len(c) <= blocksize for c in chunks)
    assert sha256(b"".join(chunks)) == sha256(CONTENT[name])


def test_retrbinary_default_blocksize_is_8192(ftp):
    chunks = []
    ftp.retrbinary("RETR big.bin", chunks.append)
    assert max(map(len, chunks)) <= 8192
    assert sha256(b"".join(chunks)) == sha256(CONTENT["big.bin"])


@pytest.mark.parametrize("rest", [0, 12345, "12345", len(CONTENT["medium.bin"]) - 1])
def test_retrbinary_with_rest_resumes_at_the_offset(ftp, rest):
    chunks = []
    assert (
        ftp.retrbinary("RETR medium.bin", chunks.append, rest=rest)
        == "226 Transfer complete."
    )
    assert sha256(b"".join(chunks)) == sha256(CONTENT["medium.bin"][int(rest) :])


def test_retrbinary_of_a_missing_file_raises_error_perm_and_the_session_goes_on(
    lib, ftp
):
    received = []
    with pytest.raises(lib.error_perm) as excinfo:
        ftp.retrbinary("RETR missing.bin", received.append)
    assert str(excinfo.value).startswith("550")
    assert received == []
    chunks = []
    ftp.retrbinary("RETR small.bin", chunks.append)
    assert b"".join(chunks) == CONTENT["small.bin"]


def test_retrbinary_then_commands_on_the_same_session(ftp):
    for name in ["small.bin", "medium.bin", "small.bin"]:
        chunks = []
        ftp.retrbinary(f"RETR {name}", chunks.append)
        assert b"".join(chunks) == CONTENT[name]
        assert ftp.pwd() == "/"


def test_storbinary_writes_the_file(ftp, root):
    data = CONTENT["big.bin"]
    assert (
        ftp.storbinary("STOR upload.bin", io.BytesIO(data)) == "226 Transfer complete."
    )
    assert file_sha256(root / "upload.bin") == sha256(data)


def test_storbinary_from_a_real_file(ftp, root, tmp_path):
    source = tmp_path / "source.bin"
    source.write_bytes(CONTENT["medium.bin"])
    with open(source, "rb") as fp:
        ftp.storbinary("STOR copy.bin", fp)
    assert file_sha256(root / "copy.bin") == sha256(CONTENT["medium.bin"])


def test_storbinary_empty_file(ftp, root):
    ftp.storbinary("STOR nothing.bin", io.BytesIO(b""))
    assert (root / "nothing.bin").read_bytes() == b""


def test_storbinary_overwrites(ftp, root):
    ftp.storbinary("STOR small.bin", io.BytesIO(b"new content"))
    assert (root / "small.bin").read_bytes() == b"new content"


def test_storbinary_callback_sees_every_block(ftp, root):
    data = CONTENT["medium.bin"]
    seen = []
    ftp.storbinary(
        "STOR cb.bin", io.BytesIO(data), blocksize=4096, callback=seen.append
    )
    assert all(0 < len(block) <= 4096 for block in seen)
    assert b"".join(seen) == data
    assert file_sha256(root / "cb.bin") == sha256(data)


def test_storbinary_with_rest_resumes_an_upload(ftp, root):
    data = CONTENT["medium.bin"]
    cut = 100_000
    (root / "partial.bin").write_bytes(data[:cut])
    resp = ftp.storbinary("STOR partial.bin", io.BytesIO(data[cut:]), rest=cut)
    assert resp == "226 Transfer complete."
    assert file_sha256(root / "partial.bin") == sha256(data)


def test_storbinary_name_with_spaces(ftp, root):
    ftp.storbinary("STOR name with spaces.bin", io.BytesIO(b"spaces"))
    assert (root / "name with spaces.bin").read_bytes() == b"spaces"
    chunks = []
    ftp.retrbinary("RETR name with spaces.bin", chunks.append)
    assert chunks == [b"spaces"]


def test_storbinary_then_retrbinary_round_trip(ftp):
    data = CONTENT["big.bin"][::-1]
    ftp.storbinary("STOR reversed.bin", io.BytesIO(data))
    chunks = []
    ftp.retrbinary("RETR reversed.bin", chunks.append)
    assert sha256(b"".join(chunks)) == sha256(data)


def test_storbinary_to_a_forbidden_place_raises_error_perm(lib, ftp):
    with pytest.raises(lib.error_perm, match=r"^5\d\d "):
        ftp.storbinary("STOR missing-dir/x.bin", io.BytesIO(b"x"))


def test_storlines_round_trip(ftp):
    lines = [b"alpha\n", b"beta\r\n", b"gamma"]
    seen = []
    resp = ftp.storlines(
        "STOR lines.txt", io.BytesIO(b"".join(lines)), callback=seen.append
    )
    assert resp == "226 Transfer complete."
    assert seen == [b"alpha\r\n", b"beta\r\n", b"gamma\r\n"]
    got = []
    ftp.retrlines("RETR lines.txt", got.append)
    assert got == ["alpha", "beta", "gamma"]


def test_storlines_rejects_a_text_file(ftp):
    with pytest.raises(TypeError):
        ftp.storlines("STOR text.txt", io.StringIO("a text file\n"))


def test_ntransfercmd_returns_a_readable_socket(lib, ftp):
    ftp.voidcmd("TYPE I")
    conn, size = ftp.ntransfercmd("RETR medium.bin")
    with conn:
        assert size is None  # pyftpdlib's 150 reply carries no "(n bytes)"
        buf = bytearray(1000)
        n = conn.recv_into(buf)
        assert 0 < n <= 1000
        data = bytes(buf[:n])
        while chunk := conn.recv(65536):
            data += chunk
    assert conn.fileno() == -1
    assert ftp.voidresp() == "226 Transfer complete."
    assert sha256(data) == sha256(CONTENT["medium.bin"])


def test_transfercmd_with_rest_and_makefile(ftp):
    ftp.voidcmd("TYPE I")
    conn = ftp.transfercmd("RETR medium.bin", rest=1000)
    with conn, conn.makefile("rb") as fp:
        data = fp.read()
    assert ftp.voidresp() == "226 Transfer complete."
    assert sha256(data) == sha256(CONTENT["medium.bin"][1000:])


def test_transfercmd_store_with_sendall(ftp, root):
    ftp.voidcmd("TYPE I")
    conn = ftp.transfercmd("STOR sent.bin")
    conn.sendall(CONTENT["medium.bin"])
    conn.close()
    assert ftp.voidresp() == "226 Transfer complete."
    assert file_sha256(root / "sent.bin") == sha256(CONTENT["medium.bin"])


def test_transfercmd_socket_addresses(ftp, ftpd):
    ftp.voidcmd("TYPE I")
    with ftp.transfercmd("RETR small.bin") as conn:
        assert conn.getpeername()[0] == ftpd.host
        assert conn.getsockname()[0] == "127.0.0.1"
        assert conn.family == socket.AF_INET
        while conn.recv(8192):
            pass
    ftp.voidresp()


def test_transfercmd_of_a_missing_file_raises_error_perm(lib, ftp):
    with pytest.raises(lib.error_perm, match=r"^550 "):
        ftp.transfercmd("RETR missing.bin")
    assert ftp.voidcmd("NOOP").startswith("200")


def test_makepasv_returns_the_control_peer_and_a_port(ftp, ftpd):
    host, port = ftp.makepasv()
    assert host == ftpd.host
    assert isinstance(port, int) and 0 < port < 65536
    # pyftpdlib now waits on that port; a fresh PASV replaces it.
    with socket.create_connection((host, port), timeout=5):
        pass


def test_active_mode_transfers(ftp, root):
    ftp.set_pasv(False)
    assert not ftp.passiveserver
    chunks = []
    assert ftp.retrbinary("RETR big.bin", chunks.append) == "226 Transfer complete."
    assert sha256(b"".join(chunks)) == sha256(CONTENT["big.bin"])
    ftp.storbinary("STOR active.bin", io.BytesIO(CONTENT["medium.bin"]))
    assert file_sha256(root / "active.bin") == sha256(CONTENT["medium.bin"])
    assert "active.bin" in ftp.nlst()


def test_set_pasv_stores_the_value(lib, ftpd):
    ftp = lib.FTP()
    assert ftp.passiveserver
    ftp.set_pasv(False)
    assert ftp.passiveserver is False
    ftp.set_pasv(True)
    assert ftp.passiveserver is True


def test_makeport_returns_a_listening_socket(ftp, ftpd):
    with ftp.makeport() as listener:
        host, port = listener.getsockname()[:2]
        assert host == "0.0.0.0" and port > 0  # ftplib binds ("", 0)
        ftp.sendcmd("TYPE I")
        resp = ftp.sendcmd("RETR small.bin")
        assert resp.startswith(("125", "150"))
        conn, _ = listener.accept()
        with conn:
            data = b""
            while chunk := conn.recv(8192):
                data += chunk
    assert listener.fileno() == -1
    assert ftp.voidresp() == "226 Transfer complete."
    assert data == CONTENT["small.bin"]


def test_abort_during_a_transfer(lib, ftp):
    ftp.voidcmd("TYPE I")
    conn = ftp.transfercmd("RETR big.bin")
    try:
        assert conn.recv(8192)
        resp = ftp.abort()
    finally:
        conn.close()
    assert resp[:3] in {"426", "225", "226"}
    # pyftpdlib answers the aborted RETR with a second reply.
    assert ftp.getmultiline()[:3] in {"225", "226"}
    assert ftp.voidcmd("NOOP").startswith("200")
    chunks = []
    ftp.retrbinary("RETR small.bin", chunks.append)
    assert b"".join(chunks) == CONTENT["small.bin"]


def test_abort_without_a_transfer(ftp):
    assert ftp.abort().startswith("225")
    assert ftp.voidcmd("NOOP").startswith("200")


def test_transfers_against_the_subprocess_server(lib, ftpd_proc, root):
    ftp = connect(lib, ftpd_proc)
    try:
        chunks = []
        ftp.retrbinary("RETR big.bin", chunks.append)
        assert sha256(b"".join(chunks)) == sha256(CONTENT["big.bin"])
        ftp.storbinary("STOR up.bin", io.BytesIO(CONTENT["medium.bin"]))
        assert file_sha256(root / "up.bin") == sha256(CONTENT["medium.bin"])
        assert sorted(ftp.nlst("sub")) == ["deeper", "inner.bin"]
        assert dict(ftp.mlsd())["sub"]["type"] == "dir"
        assert ftp.quit() == "221 Goodbye."
    finally:
        ftp.close()
