"""A thread-safe pool of logged-in rftplib sessions for the fsspec filesystem.

No fsspec here: the pool knows sessions, not paths. Rules, after rclone's FTP
backend: at most ``cap`` sessions exist at once; an idle session that has sat
for ``noop_after`` seconds answers a NOOP before it is handed out again; a
session that raised anything but a 5xx reply is closed, not reused; a server
that refuses a new session with 421 (or a refused login) while others are
open lowers the cap to what it accepted, instead of failing the caller;
sessions idle for ``idle_timeout`` seconds are closed.

With ``grow_to`` above ``cap``, the pool sizes itself to its callers: a
caller that finds every session busy opens one more (up to ``grow_to``)
rather than wait, as Dask's threaded scheduler expects of a filesystem
shared by its threads; a refusal brings the cap back down to what the
server accepted, and growth waits ``regrow_after`` seconds after one.

A streaming read that is paused between two reads of a file object is
"parked" with its session: when every session is busy, a waiting caller
stops the oldest parked stream and takes its session, so open files never
starve the pool.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections import OrderedDict

from . import Error, all_errors, error_perm, error_temp

__all__ = ["Pool", "Stream"]


def _refusal(exc):
    """True if ``exc`` is how a server says "no more sessions for you"."""
    if isinstance(exc, (error_temp, error_perm)):
        return str(exc)[:3] in ("421", "530")
    return isinstance(exc, (EOFError, ConnectionResetError, ConnectionRefusedError))


_WAITALL = getattr(socket, "MSG_WAITALL", 0)

# A cut transfer that stops faster than this (a server close by) is stopped
# in the calling thread; a slower one in a thread of its own.
_INLINE_STOP = 0.002


class Stream:
    """A RETR in progress on ``ftp`` whose next byte is at offset ``pos``."""

    __slots__ = ("conn", "eof", "flags", "ftp", "pos")

    def __init__(self, ftp, conn, pos):
        self.ftp = ftp
        self.conn = conn
        self.pos = pos
        self.eof = False
        # A plain socket fills the whole block in one recv (into the bytes
        # object returned: no pieces to join); rftplib's TLS ones take no flags.
        self.flags = _WAITALL if type(conn) is socket.socket else 0

    def read(self, n):
        """Up to ``n`` bytes (fewer only at the end of the file)."""
        recv = self.conn.recv
        first = recv(n, self.flags) if self.flags else recv(n)
        got = len(first)
        if got == n or not got:
            self.eof = not got
            self.pos += got
            return first
        chunks = [first]
        while got < n:
            chunk = recv(n - got)
            if not chunk:
                self.eof = True
                break
            chunks.append(chunk)
            got += len(chunk)
        self.pos += got
        return b"".join(chunks)

    def skip(self, n):
        while n > 0:
            chunk = self.conn.recv(min(n, 1 << 20))
            if not chunk:
                self.eof = True
                return
            n -= len(chunk)
            self.pos += len(chunk)

    def finish(self):
        """The file was read to its end: close and take the 226."""
        self.conn.close()
        self.ftp.voidresp()

    def stop(self):
        """Stop early: close the data connection and take the server's one
        reply (426 or 451 for the cut transfer, 226 if it had already sent
        everything). Cheaper than ABOR, which costs a second reply."""
        if self.eof:
            self.finish()
            return
        self.conn.close()
        try:
            self.ftp.getresp()
        except (error_temp, error_perm):
            pass


class Pool:
    def __init__(
        self,
        connect,
        cap,
        *,
        idle_timeout=30.0,
        noop_after=2.0,
        regrow_after=5.0,
        grow_to=None,
    ):
        self._connect = connect
        self.cap = self.max_cap = self.base_cap = max(1, int(cap))
        # The most sessions demand may open (see the module's docstring).
        self.grow_to = max(self.base_cap, int(grow_to or 0))
        self.idle_timeout = idle_timeout
        self.noop_after = noop_after
        # A refusal may have been a neighbour's session that had not yet
        # ended: after a while, try one more again.
        self.regrow_after = regrow_after
        self._shrunk_at = 0.0
        self._cond = threading.Condition()
        self._idle = []  # (session, released at): last in, first out
        self._busy = {}  # session -> ident of the thread holding it
        self._doomed = set()  # busy when close() ran: closed on release
        self._parked = OrderedDict()  # key -> Stream
        self._opening = 0
        self._pid = os.getpid()
        self._stop_cost = 0.0  # seconds a cut transfer takes to stop (see stop_later)

    @property
    def live(self):
        """Sessions that exist now: idle, busy, parked or being opened."""
        with self._cond:
            return len(self._idle) + len(self._busy) + len(self._parked) + self._opening

    def _live_locked(self):
        return len(self._idle) + len(self._busy) + len(self._parked) + self._opening

    def _after_fork_locked(self):
        # A forked child shares its parent's sockets: forget them, never use them.
        if os.getpid() != self._pid:
            self._pid = os.getpid()
            self._idle, self._busy, self._doomed = [], {}, set()
            self._parked = OrderedDict()
            self._opening = 0
            self.cap = self.max_cap

    def _held_by_caller_locked(self):
        me = threading.get_ident()
        return bool(self._busy) and all(owner == me for owner in self._busy.values())

    def acquire(self):
        """A logged-in session for this thread alone; give it back with release()."""
        while True:
            stale, session, reclaim, fresh = [], None, None, True
            with self._cond:
                self._after_fork_locked()
                now = time.monotonic()
                if (
                    self.cap < self.max_cap
                    and now - self._shrunk_at > self.regrow_after
                ):
                    self.cap += 1
                    self._shrunk_at = now
                while self._idle and now - self._idle[0][1] > self.idle_timeout:
                    stale.append(self._idle.pop(0)[0])
                if self._idle:
                    session, released = self._idle.pop()
                    fresh = now - released < self.noop_after
                    self._busy[session] = threading.get_ident()
                elif self._live_locked() < self.cap:
                    self._opening += 1
                elif (
                    self.cap < self.grow_to
                    and now - self._shrunk_at > self.regrow_after
                    and None not in self._busy.values()
                ):
                    # Every session is some caller's: one more caller, one
                    # more session. (Not when one is only being stopped, see
                    # stop_later: it is free again within a round trip.)
                    self.cap += 1
                    self.max_cap = max(self.max_cap, self.cap)
                    self._opening += 1
                elif self._parked:
                    _, reclaim = self._parked.popitem(last=False)
                    self._busy[reclaim.ftp] = threading.get_ident()
                elif not self._opening and self._held_by_caller_locked():
                    # Waiting would be for ever: every session is this
                    # thread's own (files open for writing, say).
                    raise Error(
                        f"all {len(self._busy)} sessions of the pool are held by this "
                        "thread's open files: close one, or allow more connections"
                    )
                else:
                    self._cond.wait(1.0)
                    continue
            for old in stale:
                _close(old)
            if session is not None:
                if fresh:
                    return session
                try:
                    session.voidcmd("NOOP")
                    return session
                except all_errors:
                    self.discard(session)
                    continue
            if reclaim is not None:
                try:
                    reclaim.stop()
                    return reclaim.ftp
                except all_errors:
                    self.discard(reclaim.ftp)
                    continue
            # grow
            try:
                session = self._connect()
            except all_errors as exc:
                with self._cond:
                    self._opening -= 1
                    others = self._live_locked()
                    if others and _refusal(exc):
                        # The server holds us to fewer sessions: live with it.
                        self.cap = max(1, others)
                        # Regrowth aims no higher than the configured size
                        # or what the server has accepted.
                        self.max_cap = max(self.base_cap, others)
                        self._shrunk_at = time.monotonic()
                        self._cond.notify_all()
                        continue
                    self._cond.notify_all()
                raise
            with self._cond:
                self._opening -= 1
                self._busy[session] = threading.get_ident()
            return session

    def release(self, session):
        """Give back a session that is in a known state (no transfer open)."""
        with self._cond:
            if session not in self._busy:
                doomed = True  # forked, or closed meanwhile
            else:
                del self._busy[session]
                doomed = session in self._doomed
                self._doomed.discard(session)
                if not doomed:
                    self._idle.append((session, time.monotonic()))
            self._cond.notify()
        if doomed:
            _close(session)

    def discard(self, session):
        """Close a session whose state is unknown (it raised mid-command)."""
        with self._cond:
            self._busy.pop(session, None)
            self._doomed.discard(session)
            self._cond.notify()
        _close(session)

    def park(self, key, stream):
        with self._cond:
            self._busy.pop(stream.ftp, None)
            if stream.ftp in self._doomed:
                self._doomed.discard(stream.ftp)
                doomed = True
            else:
                self._parked[key] = stream
                doomed = False
            self._cond.notify()
        if doomed:
            stream.conn.close()
            _close(stream.ftp)

    def stop_later(self, stream):
        """End ``stream`` in another thread, then give its session back: the
        caller goes on at once with another session (a seek costs no wait
        for the cut transfer's reply)."""

        def stop():
            began = time.monotonic()
            try:
                stream.stop()
            except BaseException:  # noqa: BLE001 - the session is unusable, nothing more
                self.discard(stream.ftp)
            else:
                self.release(stream.ftp)
            # How long a stop takes here (a round trip, mostly), smoothed.
            self._stop_cost = 0.8 * self._stop_cost + 0.2 * (time.monotonic() - began)

        if self._stop_cost < _INLINE_STOP:
            # A near server: stopping now costs less than a thread would.
            stop()
            return
        with self._cond:
            self._busy[stream.ftp] = None  # the stopping thread's now
        threading.Thread(target=stop, name="rftplib-fsspec-stop", daemon=True).start()

    def unpark(self, key):
        """The stream parked under ``key``, now the caller's; None if it was taken."""
        with self._cond:
            stream = self._parked.pop(key, None)
            if stream is not None:
                self._busy[stream.ftp] = threading.get_ident()
            return stream

    def close(self):
        """Close every idle and parked session now, busy ones as they come back."""
        with self._cond:
            sessions = [s for s, _ in self._idle]
            sessions += [st.ftp for st in self._parked.values()]
            for stream in self._parked.values():
                stream.conn.close()
            self._idle, self._parked = [], OrderedDict()
            self._doomed |= set(self._busy)
            self.cap = self.max_cap
            self._cond.notify_all()
        for session in sessions:
            _close(session)


def _close(session):
    try:
        session.close()
    except (Error, OSError, EOFError):  # pragma: no cover - close does not raise
        pass
