"""``FTPFile``: the file object of rftplib.fsspec (random-access reads
over a parked RETR, streaming writes over one STOR)."""

from __future__ import annotations

import errno
import time
import uuid

from fsspec.spec import AbstractBufferedFile

from . import _fsspec_arm as _arm
from . import all_errors, error_perm, error_temp
from ._fsspec_pool import Stream
from ._fsspec_support import (
    _RETRYABLE,
    _SKIP_LIMIT,
    _end_upload,
)


class FTPFile(AbstractBufferedFile):
    """A file on the server: random-access reads, streaming writes (one STOR).

    Reading front to back keeps one RETR open across ``read()`` calls; a seek
    elsewhere ends it (close the data connection, take the one reply) and
    starts a RETR at the new offset. Between reads the open RETR is parked in
    the pool, which may end it if another caller needs the session.

    Far from the server, that RETR goes to an armed session (``_fsspec_arm``:
    PASV and data connection done ahead), and the cut session is armed again
    in the background: a random read costs about one round trip.
    """

    def __init__(
        self,
        fs,
        path,
        mode="rb",
        block_size="default",
        autocommit=True,
        # No read-ahead copy: the open RETR streams ahead by itself.
        cache_type="none",
        cache_options=None,
        **kwargs,
    ):
        self._key = object()
        self._ftp = self._conn = None
        self._random = False  # a seek has cut a transfer of this file
        if mode == "rb" and fs._pool.far:
            # Sessions armed for the first read and a seek after it (while
            # the base class below asks for the file's details, on a session
            # left for that); more once reads prove random.
            fs._pool.arm_spare(min(2, fs._pool.cap - 1))
        if mode == "xb" and fs.exists(path):
            # Before the base class sets the file up: nothing to flush at __del__.
            raise FileExistsError(errno.EEXIST, "File exists", path)
        super().__init__(
            fs,
            path,
            mode=mode,
            block_size=block_size,
            autocommit=autocommit,
            cache_type=cache_type,
            cache_options=cache_options,
            **kwargs,
        )
        if self.readable() and self.details.get("type") == "directory":
            raise IsADirectoryError(errno.EISDIR, "Is a directory", path)
        if not autocommit and self.writable():
            # Beside the target unless told otherwise: a rename within one
            # directory works on every server.
            self.target = self.path
            folder, _, name = self.path.rpartition("/")
            if fs.tempdir:
                folder = fs.tempdir.rstrip("/")
            self.path = f"{folder}/.{name}.{uuid.uuid4().hex[:12]}.part"

    def _fetch_range(self, start, end):
        end = min(end, self.size)
        if end <= start:
            return b""
        fs, pool = self.fs, self.fs._pool
        attempt = 0
        use_armed = True
        while True:
            stream = pool.unpark(self._key)
            ftp = stream.ftp if stream is not None else None
            conn = armed = None
            try:
                if (
                    stream is not None
                    and not stream.eof
                    and 0 < start - stream.pos <= _SKIP_LIMIT
                ):
                    stream.skip(start - stream.pos)
                if stream is not None and (stream.eof or stream.pos != start):
                    # Its session comes back when it is done; far from the
                    # server, armed again for the reads to come.
                    pool.stop_later(stream, rearm=pool.far)
                    stream = ftp = None
                    self._random = True
                if stream is None:
                    if use_armed:
                        armed = pool.take_armed()
                    if armed is not None:
                        ftp = armed.ftp
                        conn = _arm.retr(armed, self.path, start)
                    else:
                        ftp = pool.acquire()
                        began = time.monotonic()
                        together = fs._together
                        # PASV, REST and RETR in one write (one round trip)
                        # where the server took that so far, else two.
                        conn = fs._retr_sized(ftp, self.path, start, together=True)[0]
                        if not fs.tls:
                            trips = 1 if together and fs._together else 2
                            pool.note_round_trip((time.monotonic() - began) / trips)
                    stream = Stream(ftp, conn, start)
                    if self._random and pool.far:
                        pool.arm_spare()  # for the random reads to come
                data = stream.read(end - start)
                if stream.eof:
                    # The data connection ended: the file's end, or a cut
                    # transfer (a 4xx here, and the bytes are read again).
                    try:
                        stream.finish()
                    except error_perm:
                        pass  # the bytes came; the session is in step
            except error_perm as exc:
                if armed is not None:
                    pool.discard(ftp)  # its data connection's state is unknown
                else:
                    pool.release(ftp)
                raise fs._explain(exc, self.path, directory=IsADirectoryError) from exc
            except BaseException as exc:
                if stream is not None:
                    stream.conn.close()
                elif conn is not None:
                    conn.close()
                if ftp is not None:
                    if armed is not None and isinstance(exc, error_temp):
                        # A refused armed connection (425, say): the session
                        # is in step, its data connection gone. Re-arm it.
                        pool.rearm_later(ftp)
                    else:
                        pool.discard(ftp)
                if not isinstance(exc, _RETRYABLE):
                    raise
                if armed is not None and use_armed:
                    # An armed connection the server had dropped (an idle
                    # timeout): once more, on a session readied now.
                    use_armed = False
                    continue
                if attempt >= fs.retries:
                    raise
                attempt += 1
                continue
            if stream.eof or stream.pos >= self.size:
                if not stream.eof:
                    try:
                        stream.finish()
                    except error_perm:
                        pool.release(ftp)
                    except BaseException:
                        pool.discard(ftp)
                        raise
                    else:
                        pool.release(ftp)
                else:
                    pool.release(ftp)
            else:
                pool.park(self._key, stream)
            return data

    def _initiate_upload(self):
        cmd = "APPE" if self.mode == "ab" else "STOR"
        pool = self.fs._pool

        def start():
            ftp = pool.acquire()
            try:
                self._conn = ftp.transfercmd(f"{cmd} {self.path}")
            except error_perm:
                pool.release(ftp)
                raise
            except BaseException:
                pool.discard(ftp)
                raise
            self._ftp = ftp

        try:
            self.fs._with_parents(self.path, start)
        except error_perm as exc:
            raise self.fs._explain_write(exc, self.path) from exc

    def _upload_chunk(self, final=False):
        pool = self.fs._pool
        try:
            with self.buffer.getbuffer() as view:
                if view.nbytes:
                    self._conn.sendall(view)
            if final:
                _end_upload(self._ftp, self._conn)
                self._conn = None
                self._ftp.voidresp()
        except error_perm:
            pool.release(self._ftp)
            self._ftp = None
            raise
        except BaseException:
            if self._conn is not None:
                self._conn.close()
            pool.discard(self._ftp)
            self._ftp = self._conn = None
            raise
        if final:
            pool.release(self._ftp)
            self._ftp = None
            self.fs.invalidate_cache(self.path)
        return True

    def commit(self):
        self.fs.mv(self.path, self.target)

    def discard(self):
        self.fs.rm_file(self.path)

    def close(self):
        if not self.closed and self.readable():
            stream = self.fs._pool.unpark(self._key)
            if stream is not None and self.fs._pool.far:
                # Another thread takes the cut transfer's reply.
                self.fs._pool.stop_later(stream)
            elif stream is not None:
                # Nobody wants the rest of that transfer: if the connection
                # has died meanwhile (a server gone, an idle timeout), the
                # session goes, and closing the file still succeeds.
                try:
                    stream.stop()
                except all_errors:
                    self.fs._pool.discard(stream.ftp)
                except BaseException:
                    self.fs._pool.discard(stream.ftp)
                    raise
                else:
                    self.fs._pool.release(stream.ftp)
        super().close()
