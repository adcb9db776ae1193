"""Shared constants and helpers for the test modules (no fixtures here)."""

from __future__ import annotations

import hashlib
import random

TIMEOUT = 10  # every client gets one, so a hang fails fast instead of at pytest-timeout

NON_ASCII_NAME = "dünn-文件.bin"
BIG_SIZE = 3 * 1024 * 1024 + 7  # odd size: the last block is never full

_rng = random.Random(20240611)

# The tree every server root starts with (plus the empty directory sub/deeper).
CONTENT = {
    "small.bin": _rng.randbytes(1000),
    "medium.bin": _rng.randbytes(300_001),
    "big.bin": _rng.randbytes(BIG_SIZE),
    "empty.bin": b"",
    NON_ASCII_NAME: _rng.randbytes(4096),
    "text.txt": b"first line\nsecond line\nthird line\n",
    "sub/inner.bin": _rng.randbytes(2000),
}

TOP_LEVEL = sorted(
    [
        "small.bin",
        "medium.bin",
        "big.bin",
        "empty.bin",
        NON_ASCII_NAME,
        "text.txt",
        "sub",
    ]
)


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def file_sha256(path):
    return sha256(path.read_bytes())


def connect(lib, srv, *, login=True, **kwargs):
    """A client of ``lib`` connected (and logged in) to ``srv``."""
    kwargs.setdefault("timeout", TIMEOUT)
    ftp = lib.FTP(**kwargs)
    ftp.connect(srv.host, srv.port)
    if login:
        ftp.login(srv.user, srv.password)
    return ftp


def resync(ftp):
    """After an abort: read the replies still due (the RETR's and the ABOR's,
    however the server words them) up to the answer to a NOOP.

    Without TLS, ABOR goes as TCP urgent data, whose last byte (the LF) a
    server such as ProFTPD takes out of band: what is left, "ABOR\\r", then
    prefixes the next command, which is answered "500 'ABOR NOOP' not
    understood" (ftplib alike)."""
    ftp.putcmd("NOOP")
    stale = []
    for _ in range(5):
        reply = ftp.getmultiline()
        if reply.startswith("200") or (
            reply.startswith("500") and "ABOR NOOP" in reply
        ):
            return stale
        stale.append(reply)
    raise AssertionError(f"no answer to NOOP after {stale}")
