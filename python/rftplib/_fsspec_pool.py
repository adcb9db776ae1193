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

Far from the server, random reads keep sessions "armed" (``_fsspec_arm``: the
passive data connection open, waiting for a RETR): a cut transfer is stopped
and its session re-armed in a background thread, so the next read costs
REST + RETR alone. An armed session is given to any other caller after an
ABOR (``disarm``). Background threads end with ``close()``, which also closes
the sessions they hold.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections import OrderedDict, deque

from . import Error, all_errors, error_perm, error_temp
from ._fsspec_arm import arm, disarm
from ._fsspec_support import PLAIN_SOCKETS

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
        self.flags = _WAITALL if type(conn) in PLAIN_SOCKETS else 0

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
        # A server is far when a stop (a round trip) takes this long at least.
        self.far_after = _INLINE_STOP
        self._armed = deque()  # Armed sessions, oldest first
        self._arming = 0  # sessions being (stopped and) armed in the background
        self._workers = set()  # background threads
        self._epoch = 0  # bumped by close(): what began before ends its sessions
        # close() waits this long for background threads to end
        self.join_timeout = 2.0
        # take_armed() waits this long at most for a session being armed
        self.arm_wait = 5.0

    @property
    def far(self):
        """Whether the server is far enough for background work to pay: a
        cut transfer took a while (a round trip) to stop."""
        return self._stop_cost >= self.far_after

    @property
    def live(self):
        """Sessions that exist now: idle, busy, parked or being opened."""
        with self._cond:
            return self._live_locked()

    def _live_locked(self):
        return (
            len(self._idle)
            + len(self._busy)
            + len(self._parked)
            + len(self._armed)
            + self._opening
        )

    def _after_fork_locked(self):
        # A forked child shares its parent's sockets: forget them, never use them.
        if os.getpid() != self._pid:
            self._pid = os.getpid()
            self._idle, self._busy, self._doomed = [], {}, set()
            self._parked = OrderedDict()
            self._opening = 0
            self._armed, self._arming, self._workers = deque(), 0, set()
            self.cap = self.max_cap

    def _held_by_caller_locked(self):
        me = threading.get_ident()
        return bool(self._busy) and all(owner == me for owner in self._busy.values())

    def acquire(self):
        """A logged-in session for this thread alone; give it back with release()."""
        while True:
            stale, session, reclaim, fresh = [], None, None, True
            disarming = None
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
                stale += self._expire_armed_locked(now)
                if self._idle:
                    session, released = self._idle.pop()
                    fresh = now - released < self.noop_after
                    self._busy[session] = threading.get_ident()
                elif self._live_locked() < self.cap:
                    self._opening += 1
                elif self._armed:
                    disarming = self._armed.pop()  # the newest: the likeliest alive
                    self._busy[disarming.ftp] = threading.get_ident()
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
            if disarming is not None:
                try:
                    disarm(disarming)
                    return disarming.ftp
                except all_errors:
                    self.discard(disarming.ftp)
                    continue
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
            self._noted(session)
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

    def stop_later(self, stream, rearm=False):
        """End ``stream`` in another thread, then give its session back (or,
        with ``rearm``, arm it again first): the caller goes on at once with
        another session (a seek costs no wait for the cut transfer's reply)."""

        def stop(rearm):
            began = time.monotonic()
            try:
                stream.stop()
            except BaseException:  # noqa: BLE001 - the session is unusable, nothing more
                ok = False
            else:
                ok = True
            # How long a stop takes here (a round trip, mostly), smoothed.
            self._stop_cost = 0.8 * self._stop_cost + 0.2 * (time.monotonic() - began)
            if ok and rearm:
                self._arm_now(stream.ftp)
                return
            try:
                if ok:
                    self.release(stream.ftp)
                else:
                    self.discard(stream.ftp)
            finally:
                if rearm:
                    self._armed_one(None)

        if not self.far:
            # A near server: stopping now costs less than a thread would.
            stop(False)
            return
        with self._cond:
            self._busy[stream.ftp] = None  # the stopping thread's now
            if rearm:
                self._arming += 1
        self._spawn(lambda: stop(rearm))

    def note_round_trip(self, seconds):
        """One command's round trip took ``seconds``: as a stop takes about
        one, it tells how far the server is before any stop did."""
        self._stop_cost = 0.8 * self._stop_cost + 0.2 * seconds

    def _noted(self, session):
        """A new session: the round trip its connect() timed tells how far
        the server is, before any read."""
        seconds = getattr(session, "_rftp_round_trip", None)
        if seconds is not None:
            self.note_round_trip(seconds)

    # -- armed sessions (see _fsspec_arm) -----------------------------------------

    def _spawn(self, fn):
        """``fn()`` in a background thread that close() waits for."""

        def run():
            try:
                fn()
            finally:
                with self._cond:
                    self._workers.discard(thread)
                    self._cond.notify_all()

        thread = threading.Thread(target=run, name="rftplib-fsspec", daemon=True)
        with self._cond:
            self._workers.add(thread)
        try:
            thread.start()
        except RuntimeError:  # no thread to be had: do it now
            with self._cond:
                self._workers.discard(thread)
            fn()

    def _expire_armed_locked(self, now):
        """Armed sessions idle past ``idle_timeout``, out of the pool: close them."""
        stale = []
        while self._armed and now - self._armed[0].since > self.idle_timeout:
            stale.append(self._armed.popleft())
        for armed in stale:
            armed.conn.close()
        return [armed.ftp for armed in stale]

    def _armed_one(self, armed):
        """A background arming ended: with ``armed`` (a session of this
        pool's, busy with the worker), or without (failed, session gone)."""
        with self._cond:
            self._arming -= 1
            keep = False
            if armed is not None:
                keep = armed.ftp in self._busy and armed.ftp not in self._doomed
                self._busy.pop(armed.ftp, None)
                self._doomed.discard(armed.ftp)
                if keep:
                    self._armed.append(armed)
            self._cond.notify_all()
        if armed is not None and not keep:
            armed.conn.close()
            _close(armed.ftp)

    def _arm_now(self, session):
        """Arm ``session`` (busy, the calling worker's) and add it to the armed."""
        try:
            armed = arm(session)
        except BaseException:  # noqa: BLE001 - the session is unusable, nothing more
            self.discard(session)
            self._armed_one(None)
            return
        self._armed_one(armed)

    def _open_armed(self, epoch):
        """A new session, armed (in a worker)."""
        try:
            session = self._connect()
        except BaseException as exc:  # noqa: BLE001 - reported by the next acquire()
            with self._cond:
                self._opening -= 1
                others = self._live_locked()
                if others and _refusal(exc):
                    self.cap = max(1, others)
                    self._shrunk_at = time.monotonic()
            self._armed_one(None)
            return
        self._noted(session)
        with self._cond:
            self._opening -= 1
            self._busy[session] = None
            if epoch != self._epoch:  # closed meanwhile
                self._doomed.add(session)
        self._arm_now(session)

    def rearm_later(self, session):
        """Arm ``session`` (the caller's, in step, with no data connection)
        again in the background."""
        with self._cond:
            if session not in self._busy:
                return  # closed meanwhile
            self._busy[session] = None
            self._arming += 1
        self._spawn(lambda: self._arm_now(session))

    def arm_spare(self, most=None):
        """Arm idle sessions, and new ones up to the cap, in the background
        (``most`` at most, counting those armed or being armed already):
        the next reads find them ready."""
        with self._cond:
            self._after_fork_locked()
            now = time.monotonic()
            want = self.cap if most is None else most
            want -= len(self._armed) + self._arming
            if want <= 0:
                return
            stale = [s for s, t in self._idle if now - t > self.idle_timeout]
            fresh = [(s, t) for s, t in self._idle if now - t <= self.idle_timeout]
            # the most recently used first, as acquire() takes them
            sessions = [s for s, _ in fresh[::-1][:want]]
            self._idle = [(s, t) for s, t in fresh if s not in sessions]
            for session in sessions:
                self._busy[session] = None
            grow = max(0, min(want - len(sessions), self.cap - self._live_locked()))
            self._opening += grow
            self._arming += len(sessions) + grow
            epoch = self._epoch
        for session in stale:
            _close(session)
        for session in sessions:
            self._spawn(lambda s=session: self._arm_now(s))
        for _ in range(grow):
            self._spawn(lambda: self._open_armed(epoch))

    def take_armed(self):
        """An armed session, now the caller's (give it back with release()
        or discard() after its transfer); None when none is ready or being
        armed."""
        stale = []
        deadline = time.monotonic() + self.arm_wait
        try:
            with self._cond:
                self._after_fork_locked()
                while True:
                    now = time.monotonic()
                    stale += self._expire_armed_locked(now)
                    if self._armed:
                        armed = self._armed.popleft()  # the oldest: settled longest
                        self._busy[armed.ftp] = threading.get_ident()
                        return armed
                    if not self._arming or now >= deadline:
                        return None
                    # One being armed is ready sooner than a session the
                    # caller would make ready (PASV, connect) itself.
                    self._cond.wait(min(1.0, deadline - now))
        finally:
            for session in stale:
                _close(session)

    def unpark(self, key):
        """The stream parked under ``key``, now the caller's; None if it was taken."""
        with self._cond:
            stream = self._parked.pop(key, None)
            if stream is not None:
                self._busy[stream.ftp] = threading.get_ident()
            return stream

    def close(self):
        """Close every idle, parked and armed session now, and those of
        background threads (which then end); busy ones as they come back."""
        with self._cond:
            self._after_fork_locked()
            sessions = [s for s, _ in self._idle]
            sessions += [st.ftp for st in self._parked.values()]
            sessions += [armed.ftp for armed in self._armed]
            conns = [st.conn for st in self._parked.values()]
            conns += [armed.conn for armed in self._armed]
            self._idle, self._parked, self._armed = [], OrderedDict(), deque()
            self._doomed |= set(self._busy)
            # Sessions a background thread holds are nobody else's: close
            # them now, which ends what the thread waits for.
            sessions += [s for s, owner in self._busy.items() if owner is None]
            workers = [t for t in self._workers if t is not threading.current_thread()]
            self._epoch += 1
            self.cap = self.max_cap
            self._cond.notify_all()
        for conn in conns:
            conn.close()
        for session in sessions:
            _close(session)
        deadline = time.monotonic() + self.join_timeout
        for thread in workers:
            thread.join(max(0.0, deadline - time.monotonic()))


def _close(session):
    try:
        session.close()
    except (Error, OSError, EOFError):  # pragma: no cover - close does not raise
        pass
