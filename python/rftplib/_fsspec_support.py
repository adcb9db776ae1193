"""Pieces of the fsspec filesystem (rftplib.fsspec) that know no paths
or instances: session setup, reading helpers, listing entries, errors."""

from __future__ import annotations

import datetime as _dt
import errno
import os
import socket
import time

from fsspec.callbacks import DEFAULT_CALLBACK

from . import FTP, FTP_TLS, error_perm, error_proto, error_reply, error_temp

# Errors after which a fresh session may well succeed: connection trouble and
# 4xx replies. A 5xx (error_perm) is the server's answer and is not retried.
_RETRYABLE = (OSError, EOFError, error_temp, error_proto, error_reply)
# A forward seek shorter than this reads and drops the bytes in between
# rather than stopping the stream and starting a new RETR at the new offset.
_SKIP_LIMIT = 256 * 1024
_CHUNK = 1 << 20
# get/put of files this big go through FTP.download()/upload() (verified,
# written through a .part); smaller ones through one plain RETR/STOR.
_NATIVE_MIN = 1 << 20
_WAITALL = getattr(socket, "MSG_WAITALL", 0)
# An announced size beyond this is read in pieces (a server that claims a
# huge size must not make us allocate it up front).
_WAITALL_MAX = 256 << 20


class _HandedOff:
    """What ``fn`` returns to ``_run`` once it has passed its session on."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


class _SessionSpec:
    __slots__ = (
        "cred",
        "encoding",
        "host",
        "implicit_tls",
        "port",
        "ssl_context",
        "timeout",
        "tls",
    )

    def __init__(
        self, host, port, cred, timeout, encoding, tls, implicit_tls, ssl_context
    ):
        self.host, self.port, self.cred = host, port, cred
        self.timeout, self.encoding = timeout, encoding
        self.tls, self.implicit_tls, self.ssl_context = tls, implicit_tls, ssl_context

    def connect(self):
        """A new session: connected, logged in, PROT P with TLS, TYPE I."""
        if self.tls:
            ftp = FTP_TLS(
                context=self.ssl_context,
                timeout=self.timeout,
                encoding=self.encoding,
                implicit=self.implicit_tls,
            )
        else:
            ftp = FTP(timeout=self.timeout, encoding=self.encoding)
        try:
            ftp.connect(self.host, self.port)
            ftp.login(*self.cred)
            if self.tls:
                ftp.prot_p()
            # Once per session: every transfer below is binary, listings too.
            began = time.monotonic()
            ftp.voidcmd("TYPE I")
            # One command's round trip: how far the server is (see Pool.far).
            ftp._rftp_round_trip = time.monotonic() - began
            _nodelay(ftp.sock)
        except BaseException:
            ftp.close()
            raise
        return ftp


def _nodelay(sock):
    """TCP_NODELAY on a control connection: commands sent together (REST
    then RETR) leave at once instead of the second waiting, as Nagle's
    algorithm would make it, for the server to acknowledge the first (a
    round trip on a real network)."""
    try:
        dup = socket.socket(fileno=os.dup(sock.fileno()))
    except OSError:
        return
    with dup:
        try:
            dup.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass


def _progress(callback):
    """An fsspec callback as download()/upload()'s ``progress``."""
    if callback is DEFAULT_CALLBACK:
        return None

    def progress(done, total):
        if total is not None:
            callback.set_size(total)
        callback.absolute_update(done)

    return progress


def _drain_reply(ftp):
    """Take the reply to a pipelined RETR after its REST failed: a 5xx, or a
    150 and then the end of a transfer nobody reads (closed at once)."""
    try:
        resp = ftp.getresp()
        if resp[:1] == "1":
            ftp.getresp()
    except (error_perm, error_temp):
        pass


class DataSocket(socket.socket):
    """A blocking data socket whose timeout is the kernel's (SO_RCVTIMEO,
    SO_SNDTIMEO): the EAGAIN a timed-out call ends with is raised as
    ``socket.timeout``, the exception a socket timed by Python raises."""

    __slots__ = ()

    def recv(self, n, flags=0):
        try:
            return super().recv(n, flags)
        except BlockingIOError:
            raise socket.timeout("timed out") from None

    def recv_into(self, buffer, nbytes=0, flags=0):
        try:
            return super().recv_into(buffer, nbytes, flags)
        except BlockingIOError:
            raise socket.timeout("timed out") from None

    def send(self, data, flags=0):
        try:
            return super().send(data, flags)
        except BlockingIOError:
            raise socket.timeout("timed out") from None

    def sendall(self, data, flags=0):
        try:
            return super().sendall(data, flags)
        except BlockingIOError:
            raise socket.timeout("timed out") from None


# Plain sockets, whose recv takes MSG_WAITALL (rftplib's TLS ones take no flags).
PLAIN_SOCKETS = (socket.socket, DataSocket)


def _read_all(conn, expect=None):
    """Everything ``conn`` carries until the server closes it. ``expect``:
    the size the 150 reply announced; on a plain socket those bytes come in
    one recv(MSG_WAITALL) into the bytes object returned (no 1 MiB buffers
    to allocate and shrink, no pieces to join), then one more recv sees the
    end (or whatever came beyond the announced size)."""
    if (
        expect is not None
        and expect <= _WAITALL_MAX
        and _WAITALL
        and type(conn) in PLAIN_SOCKETS
    ):
        first = conn.recv(expect + 1, _WAITALL)
        rest = _read_all(conn) if first else b""
        return first + rest if rest else first
    chunks = []
    while True:
        chunk = conn.recv(_CHUNK)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _retr_bytes(ftp, cmd):
    conn = ftp.transfercmd(cmd)
    try:
        data = _read_all(conn)
    except BaseException:
        conn.close()
        raise
    conn.close()
    ftp.voidresp()
    return data


def _end_upload(ftp, conn):
    # A TLS data connection ends with close_notify, as ftplib's storbinary
    # does: the server then knows the upload is whole.
    if getattr(ftp, "_prot_p", False):
        conn.unwrap()
    conn.close()


def _beyond_end(ftp, path, offset):
    try:
        return offset >= ftp.size(path)
    except error_perm:
        return False


def _mdtm(ftp, path, strict=False):
    try:
        resp = ftp.sendcmd(f"MDTM {path}")
    except error_perm:
        if strict:
            raise
        return None
    return _parse_facttime(resp[4:].strip())


def _parse_facttime(text):
    try:
        stamp = _dt.datetime.strptime(text[:14], "%Y%m%d%H%M%S")
    except ValueError:
        return None
    return stamp.replace(tzinfo=_dt.timezone.utc)


def _join(parent, name):
    return ("" if parent == "/" else parent) + "/" + name


_KINDS = {"file": "file", "dir": "directory", "link": "link"}


def _entry_dict(entry, parent):
    """An rftplib.Entry as the dict fsspec's ``ls(detail=True)`` returns."""
    kind = _KINDS.get(entry.type, "other")
    out = {
        "name": _join(parent, entry.name),
        "size": (entry.size or 0) if kind != "directory" else 0,
        "type": kind,
        "modified": entry.modified,
    }
    for key in ("permissions", "owner", "group", "target"):
        value = getattr(entry, key)
        if value is not None:
            out[key] = value
    unique = entry.facts.get("unique") if entry.facts else None
    if unique is not None:
        out["unique"] = unique
    return out


def _translate(exc, path):
    """The builtin OSError a 5xx reply means, without looking further."""
    text = str(exc)
    code = text[:3]
    if (
        code in ("530", "532", "553")
        or "denied" in text.lower()
        or "permission" in text.lower()
    ):
        return _error(PermissionError, exc, path)
    if code in ("552", "452"):
        return OSError(errno.ENOSPC, text, path)
    if code in ("550", "450"):
        return _error(FileNotFoundError, exc, path)
    return OSError(errno.EIO, text, path)


def _error(cls, exc, path):
    code = {
        FileNotFoundError: errno.ENOENT,
        FileExistsError: errno.EEXIST,
        PermissionError: errno.EACCES,
        IsADirectoryError: errno.EISDIR,
        NotADirectoryError: errno.ENOTDIR,
    }.get(cls, errno.EIO)
    return cls(code, str(exc), path)
