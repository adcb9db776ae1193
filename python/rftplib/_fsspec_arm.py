"""Armed sessions for the random reads of rftplib.fsspec: a session whose
passive data connection is already open, waiting for its RETR.

A RETR normally costs PASV (a round trip), opening the data connection
(another) and REST + RETR (a third). A session armed ahead of time, while
the caller does something else, leaves only REST + RETR: the data follows
them at once. This is the order every FTP client uses (PASV, connect, then
the transfer command), with time in between; every server accepts it.

No fsspec here, and no pool: ``arm``, ``disarm`` and ``retr`` work on one
session; the pool (``_fsspec_pool``) keeps armed sessions and re-arms them in
the background.
"""

from __future__ import annotations

import socket
import time

from . import all_errors, error_perm, error_reply, error_temp
from ._fsspec_support import _drain_reply

__all__ = ["Armed", "arm", "disarm", "retr"]


class Armed:
    """``ftp`` with the data connection ``conn`` open since ``since``
    (``time.monotonic()``), no transfer command sent yet."""

    __slots__ = ("conn", "ftp", "since")

    def __init__(self, ftp, conn):
        self.ftp = ftp
        self.conn = conn
        self.since = time.monotonic()


def arm(ftp):
    """PASV/EPSV and open the data connection: ``ftp`` armed."""
    host, port = ftp.makepasv()
    if getattr(ftp, "_prot_p", False):
        # rftplib's own socket: TLS starts on it after the 150, resuming the
        # control connection's session.
        conn = ftp._open_data(host, port)
    else:
        # A plain socket, as the other plain reads use (see _fsspec_io._retr).
        conn = socket.create_connection((host, port), ftp.timeout)
    return Armed(ftp, conn)


def disarm(armed):
    """The session back in a state with no data connection, for any command.

    ABOR first, then close ours: ABOR without a transfer is one reply on
    every server (225 or 226), and pyftpdlib, which has accepted the data
    connection already, closes it itself. Closing ours first would make
    pyftpdlib send a stray "226 Transfer complete" later.
    """
    try:
        armed.ftp.voidcmd("ABOR")
    finally:
        armed.conn.close()


def retr(armed, path, rest):
    """REST + RETR on an armed session, sent together: the data connection,
    now carrying ``path`` from offset ``rest`` (TLS started under PROT P,
    after the 150, as servers expect). On any error the data connection is
    closed; the session's state is then that of the error (a 4xx or 5xx
    reply: in step; anything else: unknown)."""
    ftp, conn = armed.ftp, armed.conn
    answering = "REST" if rest else "RETR"
    try:
        if rest:
            ftp.putcmd(f"REST {rest}")
        ftp.putcmd(f"RETR {path}")
        if rest:
            resp = ftp.getresp()  # 350
            if resp[:1] != "3":
                raise error_reply(resp)
            answering = "RETR"
        resp = ftp.getresp()
        if resp[:1] == "2":  # a 200 before the 150 (as ntransfercmd allows)
            resp = ftp.getresp()
        if resp[:1] != "1":
            raise error_reply(resp)
        secure = getattr(ftp, "_secure_data", None)
        if secure is not None:
            conn = secure(conn)
    except (error_perm, error_temp):
        conn.close()
        if answering == "REST":
            # The RETR sent with the refused REST answers too. If even that
            # fails, the REST's error still says what went wrong.
            try:
                _drain_reply(ftp)
            except all_errors:
                pass
        raise
    except BaseException:
        conn.close()
        raise
    return conn
