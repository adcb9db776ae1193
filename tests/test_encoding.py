"""The ``encoding`` parameter: UTF-8 by default, latin-1 on request."""

import io
import os

import pytest
from servers import PyftpdlibThreaded
from support import CONTENT, NON_ASCII_NAME, TIMEOUT, connect, file_sha256, sha256

LATIN1_NAME = "café-ñandú-±.bin"


def test_default_encoding_is_utf8(lib):
    assert lib.FTP().encoding == "utf-8"
    assert lib.FTP(encoding="latin-1").encoding == "latin-1"


def test_utf8_name_in_listing_and_retrieval(ftp):
    assert NON_ASCII_NAME in ftp.nlst()
    chunks = []
    ftp.retrbinary(f"RETR {NON_ASCII_NAME}", chunks.append)
    assert sha256(b"".join(chunks)) == sha256(CONTENT[NON_ASCII_NAME])


def test_utf8_name_stored_and_made(ftp, root):
    name = "ünïcödé-名前.bin"
    ftp.storbinary(f"STOR {name}", io.BytesIO(b"utf8 name"))
    assert (root / name).read_bytes() == b"utf8 name"
    assert ftp.mkd("目录") == "/目录"
    assert (root / "目录").is_dir()
    ftp.cwd("目录")
    assert ftp.pwd() == "/目录"


def test_latin1_round_trip_with_a_latin1_server(lib, root):
    with PyftpdlibThreaded(root, encoding="latin-1") as srv:
        ftp = lib.FTP(timeout=TIMEOUT, encoding="latin-1")
        try:
            ftp.connect(srv.host, srv.port)
            ftp.login(srv.user, srv.password)
            ftp.storbinary(f"STOR {LATIN1_NAME}", io.BytesIO(CONTENT["small.bin"]))
            assert LATIN1_NAME in ftp.nlst()
            chunks = []
            ftp.retrbinary(f"RETR {LATIN1_NAME}", chunks.append)
            assert b"".join(chunks) == CONTENT["small.bin"]
        finally:
            ftp.close()
    assert file_sha256(root / LATIN1_NAME) == sha256(CONTENT["small.bin"])


def test_latin1_name_reaches_vsftpd_as_latin1_bytes(lib, vsftpd, root):
    ftp = lib.FTP(timeout=TIMEOUT, encoding="latin-1")
    try:
        ftp.connect(vsftpd.host, vsftpd.port)
        ftp.login(vsftpd.user, vsftpd.password)
        ftp.storbinary(f"STOR {LATIN1_NAME}", io.BytesIO(b"latin-1 bytes"))
        # vsftpd passes names through as bytes: the listing decodes back.
        assert LATIN1_NAME in ftp.nlst()
    finally:
        ftp.close()
    on_disk = os.path.join(os.fsencode(root), LATIN1_NAME.encode("latin-1"))
    with open(on_disk, "rb") as f:
        assert f.read() == b"latin-1 bytes"


def test_unencodable_command_raises_unicode_encode_error(lib, ftpd):
    ftp = connect(lib, ftpd, encoding="latin-1")
    try:
        with pytest.raises(UnicodeEncodeError):
            ftp.sendcmd("CWD 文件")
        # Nothing was sent: the next reply is the NOOP's.
        assert ftp.voidcmd("NOOP").startswith("200")
    finally:
        ftp.close()


def test_lone_surrogate_raises_unicode_encode_error(lib, ftp):
    with pytest.raises(UnicodeEncodeError):
        ftp.sendcmd("CWD \udcff")
    assert ftp.voidcmd("NOOP").startswith("200")
