"""Reads and writes of rftplib.fsspec.FTPFileSystem (a mixin): cat, open,
get/put (one file, or many over the pool), pipe."""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import struct
import sys
import tempfile

from fsspec.callbacks import DEFAULT_CALLBACK
from fsspec.utils import isfilelike

from . import FTP, error_perm, error_reply, error_temp, parse150, parse227, parse229
from ._fsspec_batch import batchable, get_batched
from ._fsspec_file import FTPFile
from ._fsspec_pool import Stream
from ._fsspec_support import (
    _CHUNK,
    _NATIVE_MIN,
    DataSocket,
    _beyond_end,
    _drain_reply,
    _end_upload,
    _HandedOff,
    _progress,
    _read_all,
)


def _connect_data(host, port, timeout):
    """A connection to the passive address ``host`` (an IP address, as
    makepasv gives it): ``socket.create_connection`` without its name
    lookup, a tenth of the client's work per small file.

    Once connected, the socket blocks, with ``timeout`` set in the kernel
    (SO_RCVTIMEO/SO_SNDTIMEO) rather than by Python: every recv is then one
    system call instead of poll + recv, and ``recv(n, MSG_WAITALL)`` (see
    Stream.read) fills a block of n bytes in one call, with no joining of
    pieces. A timeout raises ``socket.timeout`` (TimeoutError), as with a
    timeout kept by Python; Ctrl-C still interrupts the wait.
    """
    try:
        sock = DataSocket(
            socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM
        )
    except OSError:
        return socket.create_connection((host, port), timeout)
    try:
        sock.settimeout(timeout)
        sock.connect((host, port))
        if timeout is not None and _TIMEVAL is not None:
            tv = _TIMEVAL.pack(int(timeout), int(timeout % 1 * 1e6))
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, tv)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, tv)
            sock.settimeout(None)
    except BaseException:
        sock.close()
        raise
    return sock


# struct timeval where it is two C longs (Linux, the BSDs, macOS on 64 bits).
_TIMEVAL = (
    struct.Struct("ll")
    if sys.platform.startswith(("linux", "darwin", "freebsd"))
    else None
)


def _pasv_together(ftp, path, rest):
    """Sends PASV (EPSV over IPv6), REST ``rest`` (if any) and RETR ``path``
    in one write, as rftplib's whole-file jobs do (every server tested queues
    the RETR until the data connection comes), and reads the passive reply:
    the (host, port) to connect to. None if the server refused the passive
    command; the replies owed to REST and RETR are then read too, and the
    session is in step for the plain way."""
    if "\r" in path or "\n" in path:
        raise ValueError("an illegal newline character should not be contained")
    peer = ftp.sock.getpeername()
    v4 = len(peer) == 2
    lines = ["PASV" if v4 else "EPSV"]
    if rest:
        lines.append(f"REST {rest}")
    lines.append(f"RETR {path}")
    if type(ftp).putcmd is FTP.putcmd:
        ftp.sock.sendall(("\r\n".join(lines) + "\r\n").encode(ftp.encoding))
    else:  # a subclass that sees each command (logs, counts): in order still
        for line in lines:
            ftp.putcmd(line)
    try:
        resp = ftp.getresp()
    except (error_perm, error_temp):
        resp = None
    if resp is not None and resp[:3] == ("227" if v4 else "229"):
        if v4:
            untrusted, port = parse227(resp)
            host = untrusted if ftp.trust_server_pasv_ipv4_address else peer[0]
            return host, port
        return parse229(resp, peer)
    # Refused (or an answer we do not read): take what REST and RETR get.
    if rest:
        _drain_one(ftp)
    _drain_reply(ftp)
    return None


def _drain_one(ftp):
    try:
        ftp.getresp()
    except (error_perm, error_temp):
        pass


def _split(items, pred):
    yes, no = [], []
    for item in items:
        (yes if pred(item) else no).append(item)
    return yes, no


class _Transfers:
    """cat/open/get/put/pipe; needs FTPFileSystem's ``_run``, ``_map``, ``_pool``."""

    def _retr(self, ftp, path, rest):
        """A data connection carrying ``path`` from offset ``rest``.

        On plain FTP, REST and RETR go out together right after PASV/EPSV and
        the data connection is opened while they travel: two round trips
        fewer than ``transfercmd`` (PASV, connect, REST, RETR one by one).
        TLS data connections need rftplib's own handshake: ``transfercmd``.
        """
        return self._retr_sized(ftp, path, rest)[0]

    def _retr_sized(self, ftp, path, rest, together=False):
        """``_retr``, and the byte count the server's 150 reply announced
        (None if it did not say). ``together``: PASV (EPSV over IPv6) goes
        out in the same write as REST and RETR, one round trip fewer again
        (where this server has not refused it)."""
        if self.tls or not self._pipeline:
            return ftp.ntransfercmd(f"RETR {path}", rest=rest or None)
        if together and self._together and not ftp.debugging:
            address = _pasv_together(ftp, path, rest)
            if address is None:
                self._together = False  # refused: the plain way from now on
                host, port = ftp.makepasv()
                if rest:
                    ftp.putcmd(f"REST {rest}")
                ftp.putcmd(f"RETR {path}")
            else:
                host, port = address
        else:
            host, port = ftp.makepasv()
            if rest:
                ftp.putcmd(f"REST {rest}")
            ftp.putcmd(f"RETR {path}")
        return self._retr_reply(ftp, host, port, rest)

    def _retr_reply(self, ftp, host, port, rest):
        """After PASV's reply (``host``, ``port``) with REST (if ``rest``)
        and RETR sent: the data connection, and the size announced."""
        try:
            conn = _connect_data(host, port, self.timeout)
        except OSError:
            conn = None
        answering = "REST" if rest else "RETR"
        try:
            if rest:
                resp = ftp.getresp()  # 350
                if resp[:1] != "3":
                    raise error_reply(resp)
                answering = "RETR"
            resp = ftp.getresp()  # 150
            if resp[:1] != "1":
                raise error_reply(resp)
        except (error_perm, error_temp):
            if conn is not None:
                conn.close()
            if answering == "REST":
                # REST refused: the RETR sent with it is answered too (perhaps
                # a transfer from 0 we have just cut). Take that, and stop
                # pipelining on this server.
                self._pipeline = False
                _drain_reply(ftp)
            raise
        except BaseException:
            if conn is not None:
                conn.close()
            raise
        if conn is None:
            raise OSError(
                errno.ECONNREFUSED, f"cannot open the data connection to {host}:{port}"
            )
        # parse150 raises for anything but a 150 (pyftpdlib starts with 125
        # when the data connection is open first).
        return conn, parse150(resp) if resp[:3] == "150" else None

    def cat_file(self, path, start=None, end=None, **kwargs):
        path = self._strip_protocol(path)

        def fetch(ftp):
            s, e = start, end
            if (s is not None and s < 0) or (e is not None and e < 0):
                size = ftp.size(path)
                s = max(0, size + s) if s is not None and s < 0 else s
                e = max(0, size + e) if e is not None and e < 0 else e
            s = s or 0
            if e is not None and e <= s:
                return b""
            try:
                conn, announced = self._retr_sized(ftp, path, s, together=True)
            except error_perm as exc:
                if (
                    s
                    and str(exc)[:3] in ("554", "501", "550")
                    and _beyond_end(ftp, path, s)
                ):
                    return b""
                raise
            stream = Stream(ftp, conn, s)
            try:
                if e is None:
                    data = _read_all(conn, announced)
                    stream.eof = True
                else:
                    data = stream.read(e - s)
            except BaseException:
                conn.close()
                raise
            if stream.eof:
                stream.finish()
                return data
            # Cut short: another thread takes the server's reply and gives
            # the session back; the caller has its bytes one round trip sooner.
            self._pool.stop_later(stream)
            return _HandedOff(data)

        try:
            return self._run(fetch)
        except error_perm as exc:
            raise self._explain(exc, path, directory=IsADirectoryError) from exc

    def cat_ranges(
        self, paths, starts, ends, max_gap=None, on_error="return", **kwargs
    ):
        """Byte ranges of files, fetched over the pool at once, each with a RETR
        that ends after exactly the bytes asked for."""
        if max_gap is not None:
            raise NotImplementedError
        if not isinstance(paths, list):
            raise TypeError
        if not isinstance(starts, list):
            starts = [starts] * len(paths)
        if not isinstance(ends, list):
            ends = [ends] * len(paths)
        if len(starts) != len(paths) or len(ends) != len(paths):
            raise ValueError

        def one(job):
            p, s, e = job
            try:
                return self.cat_file(p, s, e, **kwargs)
            except Exception as exc:
                if on_error == "return":
                    return exc
                raise

        return self._map(one, zip(paths, starts, ends))

    def cat(self, path, recursive=False, on_error="raise", **kwargs):
        paths = self.expand_path(path, recursive=recursive)
        if (
            len(paths) == 1
            and not isinstance(path, list)
            and paths[0] == self._strip_protocol(path)
        ):
            return self.cat_file(paths[0], **kwargs)

        def one(p):
            try:
                return self.cat_file(p, **kwargs)
            except Exception as exc:
                if on_error == "raise":
                    raise
                return exc

        out = dict(zip(paths, self._map(one, paths)))
        if on_error == "omit":
            out = {k: v for k, v in out.items() if not isinstance(v, Exception)}
        return out

    def _open(
        self,
        path,
        mode="rb",
        block_size=None,
        autocommit=True,
        cache_options=None,
        **kwargs,
    ):
        path = self._strip_protocol(path)
        return FTPFile(
            self,
            path,
            mode=mode,
            block_size=block_size or self.blocksize,
            autocommit=autocommit,
            cache_options=cache_options,
            **kwargs,
        )

    def get_file(self, rpath, lpath, callback=DEFAULT_CALLBACK, outfile=None, **kwargs):
        rpath = self._strip_protocol(rpath)
        jobs = getattr(self._local, "jobs", None)
        if jobs is not None and outfile is None and not isfilelike(lpath):
            jobs.append((rpath, lpath))  # get() runs them over the pool
            return
        self._get_one(rpath, lpath, self._ls_entry_cached(rpath), callback, outfile)

    def _get_one(
        self, rpath, lpath, entry, callback=DEFAULT_CALLBACK, outfile=None, made=False
    ):
        """get_file of ``rpath`` (stripped), whose listing entry (from the
        dircache) is ``entry``, or None when not known; ``made``: the local
        directory exists already."""
        if outfile is None and isfilelike(lpath):
            outfile = lpath
        if outfile is None:
            if entry is not None and entry["type"] == "directory":
                os.makedirs(lpath, exist_ok=True)
                return
            parent = os.path.dirname(os.fspath(lpath))
            if parent and not made:
                os.makedirs(parent, exist_ok=True)

        def fetch(ftp):
            conn = self._retr_sized(ftp, rpath, 0, together=True)[0]
            try:
                if outfile is not None and hasattr(outfile, "seek"):
                    outfile.seek(0)  # a retry starts over
                with (
                    open(lpath, "wb")
                    if outfile is None
                    else contextlib.nullcontext(outfile)
                ) as f:
                    view = self._buffer()
                    while True:
                        n = conn.recv_into(view)
                        if not n:
                            break
                        f.write(view[:n])
                        callback.relative_update(n)
            except BaseException:
                conn.close()
                raise
            conn.close()
            ftp.voidresp()

        def native(ftp):
            ftp.download(
                rpath,
                lpath if outfile is None else outfile,
                resume=False,
                verify=True,
                retries=self.retries,
                progress=_progress(callback),
            )

        # download() checks SIZE (and the server's hash where offered) and
        # writes through a .part, for a few more commands per file: worth it
        # for a big file, not for the many small ones of a tree.
        small = (
            entry is not None
            and entry["type"] == "file"
            and entry["size"] < _NATIVE_MIN
        )
        if outfile is not None and hasattr(outfile, "seek"):
            small = True  # a retry must be able to start over
        try:
            self._run(fetch if small else native)
        except error_perm as exc:
            entry = self._lookup(rpath, refresh=True)
            if entry is not None and entry["type"] == "directory" and outfile is None:
                os.makedirs(lpath, exist_ok=True)
                return
            raise self._explain(exc, rpath) from exc

    def _buffer(self):
        """This thread's receive buffer (a memoryview of _CHUNK bytes): one
        per thread, not one per file of a tree."""
        view = getattr(self._local, "buffer", None)
        if view is None:
            view = self._local.buffer = memoryview(bytearray(_CHUNK))
        return view

    def _ls_entry_cached(self, path):
        listing = self.dircache.get(self._parent(path))
        if listing:
            for entry in listing:
                if entry["name"] == path:
                    return entry
        return None

    def _collect_jobs(self, run):
        """The (source, target) pairs that fsspec's ``get``/``put`` hands to
        ``get_file``/``put_file`` while ``run()`` runs, collected instead of
        done one by one, so that the pool can run them at once."""
        jobs = []
        self._local.jobs = jobs
        try:
            run()
        finally:
            self._local.jobs = None
        return jobs

    def get(
        self,
        rpath,
        lpath,
        recursive=False,
        callback=DEFAULT_CALLBACK,
        maxdepth=None,
        **kwargs,
    ):
        """As fsspec's ``get``, with the files fetched over the pool at once."""
        base = super().get
        jobs = self._collect_jobs(
            lambda: base(
                rpath,
                lpath,
                recursive=recursive,
                callback=callback,
                maxdepth=maxdepth,
                **kwargs,
            )
        )
        known = self._entries_cached({self._parent(r) for r, _ in jobs})
        files = []
        for r, lp in jobs:
            entry = known.get(r)
            if entry is not None and entry["type"] == "directory":
                os.makedirs(lp, exist_ok=True)
            else:
                files.append((r, lp, entry))
        # Each local directory once, not once per file in it.
        for folder in {os.path.dirname(os.fspath(lp)) for _, lp, _ in files} - {""}:
            os.makedirs(folder, exist_ok=True)
        # The small files in batches of one Rust call each, the rest one by one.
        batched, files = _split(files, lambda job: batchable(self, job[0], job[2]))
        get_batched(self, batched)
        self._map(lambda job: self._get_one(*job, made=True), files)

    def _entries_cached(self, folders):
        """{path: entry} of what the dircache lists in ``folders``."""
        known = {}
        for folder in folders:
            for entry in self.dircache.get(folder) or ():
                known[entry["name"]] = entry
        return known

    # -- writes ---------------------------------------------------------------------

    def _store(self, ftp, path, source, callback=DEFAULT_CALLBACK, cmd="STOR"):
        conn = ftp.transfercmd(f"{cmd} {path}")
        try:
            if isinstance(source, (bytes, bytearray, memoryview)):
                conn.sendall(source)
                callback.relative_update(len(source))
            else:
                buf = bytearray(_CHUNK)
                view = memoryview(buf)
                while True:
                    n = source.readinto(view)
                    if not n:
                        break
                    conn.sendall(view[:n])
                    callback.relative_update(n)
            _end_upload(ftp, conn)
        except BaseException:
            conn.close()
            raise
        ftp.voidresp()

    def pipe_file(self, path, value, mode="overwrite", **kwargs):
        path = self._strip_protocol(path)
        if mode == "create" and self.exists(path):
            raise FileExistsError(errno.EEXIST, "File exists", path)
        try:
            self._with_parents(
                path, lambda: self._run(lambda ftp: self._store(ftp, path, value))
            )
        except error_perm as exc:
            raise self._explain_write(exc, path) from exc
        finally:
            self.invalidate_cache(path)

    def _with_parents(self, path, write):
        """``write()``; if refused because ``path``'s directory is missing (and
        ``auto_mkdir``), make the directory and ``write()`` once more."""
        try:
            return write()
        except error_perm as exc:
            parent = self._parent(path)
            if not self.auto_mkdir or self._lookup(parent, refresh=True) is not None:
                raise
            self.makedirs(parent, exist_ok=True)
            try:
                return write()
            except error_perm:
                raise exc from None

    def cp_file(self, path1, path2, **kwargs):
        """Copy within the server: FTP has no copy command, so the bytes go
        through this machine (spooled to disk beyond 64 MiB)."""
        path1, path2 = self._strip_protocol(path1), self._strip_protocol(path2)
        if self.info(path1)["type"] == "directory":
            self.makedirs(path2, exist_ok=True)
            return
        with tempfile.SpooledTemporaryFile(64 << 20) as spool:
            self.get_file(path1, None, outfile=spool)

            def send(ftp):
                spool.seek(0)  # a retry starts over
                self._store(ftp, path2, spool)

            try:
                self._with_parents(path2, lambda: self._run(send))
            except error_perm as exc:
                raise self._explain_write(exc, path2) from exc
            finally:
                self.invalidate_cache(path2)

    def put_file(
        self, lpath, rpath, callback=DEFAULT_CALLBACK, mode="overwrite", **kwargs
    ):
        rpath = self._strip_protocol(rpath)
        jobs = getattr(self._local, "jobs", None)
        if jobs is not None:
            jobs.append((lpath, rpath))  # put() runs them over the pool
            return
        if mode == "create" and self.exists(rpath):
            raise FileExistsError(errno.EEXIST, "File exists", rpath)
        if os.path.isdir(lpath):
            self.makedirs(rpath, exist_ok=True)
            return
        size = os.path.getsize(lpath)
        callback.set_size(size)

        def send(ftp):
            if size >= _NATIVE_MIN:  # verified by SIZE (and hash) afterwards
                ftp.upload(
                    lpath,
                    rpath,
                    verify=True,
                    retries=self.retries,
                    progress=_progress(callback),
                )
                return
            with open(lpath, "rb") as f:
                self._store(ftp, rpath, f, callback)

        try:
            self._with_parents(rpath, lambda: self._run(send))
        except error_perm as exc:
            raise self._explain_write(exc, rpath) from exc
        finally:
            self.invalidate_cache(rpath)

    def put(
        self,
        lpath,
        rpath,
        recursive=False,
        callback=DEFAULT_CALLBACK,
        maxdepth=None,
        **kwargs,
    ):
        """As fsspec's ``put``, with the files sent over the pool at once."""
        base = super().put
        jobs = self._collect_jobs(
            lambda: base(
                lpath,
                rpath,
                recursive=recursive,
                callback=callback,
                maxdepth=maxdepth,
                **kwargs,
            )
        )
        dirs = sorted({rp for lp, rp in jobs if os.path.isdir(lp)})
        parents = sorted({self._parent(rp) for lp, rp in jobs if not os.path.isdir(lp)})
        for d in sorted(set(dirs) | set(parents)):
            if d != "/" and self._ls_entry_cached(d) is None:
                self.makedirs(d, exist_ok=True)
        files = [job for job in jobs if not os.path.isdir(job[0])]
        self._map(lambda job: self.put_file(job[0], job[1], **kwargs), files)
