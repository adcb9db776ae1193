"""FTP.feat() and FTP.checksum(): FEAT parsed and cached, server-side hashes."""

from __future__ import annotations

import hashlib
import zlib

import pytest
from servers import PyftpdlibThreaded
from support import CONTENT, TIMEOUT
from transfer_servers import HashMixin, XHashMixin


@pytest.fixture
def hash_ftpd(root):
    with PyftpdlibThreaded(root, handler_mixins=(HashMixin,)) as srv:
        yield srv


@pytest.fixture
def xhash_ftpd(root):
    with PyftpdlibThreaded(root, handler_mixins=(XHashMixin,)) as srv:
        yield srv


def login(lib, srv):
    ftp = lib.FTP(timeout=TIMEOUT)
    ftp.connect(srv.host, srv.port)
    ftp.login(srv.user, srv.password)
    return ftp


def test_feat_parses_pyftpdlib(lib, ftp):
    feats = ftp.feat()
    assert feats["SIZE"] == ""
    assert feats["REST"] == "STREAM"
    assert "modify" in feats["MLST"]
    assert all(name == name.upper() for name in feats)


def test_feat_is_cached_per_connection(lib, ftpd):
    ftp = login(lib, ftpd)
    sent = []
    real = ftp.sendcmd

    def counting(cmd):
        sent.append(cmd)
        return real(cmd)

    ftp.sendcmd = counting
    first = ftp.feat()
    first["SIZE"] = "changed"  # a copy: the cache is not the caller's
    assert ftp.feat()["SIZE"] == ""
    assert sent.count("FEAT") == 1
    ftp.close()
    ftp.connect(ftpd.host, ftpd.port)
    ftp.login(ftpd.user, ftpd.password)
    ftp.feat()
    assert sent.count("FEAT") == 2
    ftp.close()


def test_checksum_with_hash_picks_strongest(lib, hash_ftpd):
    ftp = login(lib, hash_ftpd)
    assert ftp.feat()["HASH"] == "SHA-256;SHA-1*;MD5;CRC32"
    algo, digest = ftp.checksum("big.bin")
    assert (algo, digest) == ("SHA-256", hashlib.sha256(CONTENT["big.bin"]).hexdigest())
    # OPTS HASH was sent, and the cached FEAT now marks the selection.
    assert ftp.feat()["HASH"] == "SHA-256*;SHA-1;MD5;CRC32"
    ftp.close()


@pytest.mark.parametrize(
    "name, expected",
    [
        ("md5", hashlib.md5(CONTENT["small.bin"]).hexdigest()),
        ("SHA-1", hashlib.sha1(CONTENT["small.bin"]).hexdigest()),
        ("CRC32", f"{zlib.crc32(CONTENT['small.bin']):08x}"),
    ],
)
def test_checksum_named_algorithm(lib, hash_ftpd, name, expected):
    ftp = login(lib, hash_ftpd)
    algo, digest = ftp.checksum("small.bin", name)
    assert digest == expected
    assert algo.replace("-", "").lower() == name.replace("-", "").lower()
    ftp.close()


def test_checksum_x_commands(lib, xhash_ftpd):
    ftp = login(lib, xhash_ftpd)
    assert ftp.checksum("small.bin") == (
        "SHA-1",
        hashlib.sha1(CONTENT["small.bin"]).hexdigest(),
    )
    assert (
        ftp.checksum("small.bin", "CRC32")[1]
        == f"{zlib.crc32(CONTENT['small.bin']):08x}"
    )
    with pytest.raises(lib.error_perm):
        ftp.checksum("small.bin", "SHA-256")  # the server has no XSHA256 in FEAT
    ftp.close()


def test_checksum_without_support_is_error_perm(lib, ftp):
    with pytest.raises(lib.error_perm, match="checksum"):
        ftp.checksum("small.bin")


def test_checksum_of_missing_file_is_error_perm(lib, hash_ftpd):
    ftp = login(lib, hash_ftpd)
    with pytest.raises(lib.error_perm):
        ftp.checksum("no-such-file")
    ftp.close()


def test_checksum_unknown_algorithm_is_value_error(lib, hash_ftpd):
    ftp = login(lib, hash_ftpd)
    with pytest.raises(ValueError):
        ftp.checksum("small.bin", "whirlpool")
    ftp.close()


def test_checksum_reselects_after_another_selection(lib, hash_ftpd):
    ftp = login(lib, hash_ftpd)
    assert ftp.checksum("small.bin")[0] == "SHA-256"  # selects SHA-256
    # FEAT (cached) first said SHA-1 was selected; asking for it must select it again.
    assert ftp.checksum("small.bin", "SHA-1") == (
        "SHA-1",
        hashlib.sha1(CONTENT["small.bin"]).hexdigest(),
    )
    ftp.sendcmd("OPTS HASH MD5")  # behind rftplib's back
    assert ftp.checksum("small.bin", "SHA-1")[0] == "SHA-1"
    ftp.close()
