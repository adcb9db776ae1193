"""``socket.socket.makefile`` for socket-like objects that are not sockets.

The data and control connections of rftplib are native objects, not
``socket.socket`` instances, yet ftplib code calls ``conn.makefile('rb')`` and
``conn.makefile('r', encoding=...)`` on them and expects exactly what a real
socket returns: a ``BufferedReader`` (or a ``TextIOWrapper`` over one) whose raw
layer is a ``socket.SocketIO``, with universal newlines, the same
``name``/``mode`` attributes, and the same close semantics.

``socket.SocketIO`` is duck-typed: it never checks that it wraps a socket, so
``makefile`` below reuses it unchanged and copies ``socket.socket.makefile``
line for line. This module has no behaviour of its own beyond that.
"""

import io
from socket import SocketIO

__all__ = ["makefile"]

# Python 3.10 added io.text_encoding (and EncodingWarning); 3.9's makefile
# hands encoding=None straight to TextIOWrapper, so do the same there.
_text_encoding = getattr(io, "text_encoding", None)


def makefile(
    sock, mode="r", buffering=None, *, encoding=None, errors=None, newline=None
):
    """Return an I/O stream connected to *sock*, as ``socket.socket.makefile`` does.

    The arguments are as for ``io.open()`` after the filename, except that the
    only supported mode characters are 'r' (default), 'w' and 'b'.

    *sock* must provide this protocol, which is everything ``socket.SocketIO``
    and ``socket.socket.makefile`` use (checked against CPython 3.9-3.13):

    ``recv_into(buffer) -> int``
        Read into a writable buffer-protocol object (``BufferedReader`` passes
        a ``memoryview``) and return the number of bytes read; 0 means EOF.
        On a timeout raise ``socket.timeout`` (looked up in the running
        Python's ``socket`` module: it is ``TimeoutError`` from 3.10, a
        separate ``OSError`` subclass on 3.9). After that the stream refuses
        further reads with ``OSError("cannot read from timed out object")``,
        as a real socket file does. An ``OSError`` whose errno is ``EAGAIN``
        or ``EWOULDBLOCK`` makes the raw read return ``None``.
    ``send(data) -> int``
        Write some of a bytes-like object and return how many bytes were
        sent. Used only by streams opened with 'w'.
    ``fileno() -> int``
        Used by the stream's ``fileno()`` and ``name``.
    ``_io_refs``
        An int attribute that can be read and assigned: each call here does
        ``sock._io_refs += 1``.
    ``_decref_socketios() -> None``
        Called once by each stream when it is closed: explicitly, by ``with``,
        or when it is garbage-collected. It must behave as
        ``socket.socket._decref_socketios``: decrement ``_io_refs`` if it is
        above 0, then, if ``close()`` has already been called on *sock*, close
        it for real. Correspondingly, ``sock.close()`` must only mark the
        socket closed while ``_io_refs > 0``, so that a stream outlives the
        ``close()`` of its socket (``with conn, conn.makefile(...) as fp``
        closes ``fp`` first, but code that closes the socket first must keep
        working too).

    Nothing else is needed; ``gettimeout()`` in particular is not consulted,
    since timeouts reach the stream only as exceptions from ``recv_into``.
    """
    if not set(mode) <= {"r", "w", "b"}:
        raise ValueError(f"invalid mode {mode!r} (only r, w, b allowed)")
    writing = "w" in mode
    reading = "r" in mode or not writing
    assert reading or writing
    binary = "b" in mode
    rawmode = ""
    if reading:
        rawmode += "r"
    if writing:
        rawmode += "w"
    raw = SocketIO(sock, rawmode)
    sock._io_refs += 1
    if buffering is None:
        buffering = -1
    if buffering < 0:
        buffering = io.DEFAULT_BUFFER_SIZE
    if buffering == 0:
        if not binary:
            raise ValueError("unbuffered streams must be binary")
        return raw
    if reading and writing:
        buffer = io.BufferedRWPair(raw, raw, buffering)
    elif reading:
        buffer = io.BufferedReader(raw, buffering)
    else:
        assert writing
        buffer = io.BufferedWriter(raw, buffering)
    if binary:
        return buffer
    if _text_encoding is not None:
        encoding = _text_encoding(encoding)
    text = io.TextIOWrapper(buffer, encoding, errors, newline)
    text.mode = mode
    return text
