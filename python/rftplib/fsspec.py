"""An fsspec filesystem on rftplib: ``rftp://`` and ``rftps://``.

    import fsspec
    with fsspec.open("rftp://user:pw@ftp.example.com/data/x.csv") as f:
        head = f.read(100)

    import pandas as pd
    df = pd.read_csv("rftp://user:pw@ftp.example.com/data/x.csv")

The protocols are registered through the ``fsspec.specs`` entry point, so
nothing has to import rftplib first; ``register(ftp=True)`` also serves
``ftp://`` and ``ftps://`` with this class in this process.

Unlike fsspec's own FTP filesystem, one instance keeps a pool of sessions
(``connections``, default 4) that threads share; a file read front to back
keeps one RETR streaming instead of REST+RETR+ABOR per block; ``cat_ranges``,
``cat``, ``get``, ``put`` and ``rm`` of many paths run over the pool at once.
Paths are absolute on the server, as in fsspec's ``ftp://``.

Needs ``pip install rftplib[fsspec]``; ``import rftplib`` itself does not.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import hashlib
import os
import socket
import threading
import time
import uuid
import weakref
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import unquote

from fsspec.callbacks import DEFAULT_CALLBACK
from fsspec.spec import AbstractBufferedFile, AbstractFileSystem
from fsspec.utils import infer_storage_options, isfilelike, tokenize

from . import FTP, FTP_TLS, all_errors, error_perm, error_proto, error_reply, error_temp
from ._fsspec_pool import Pool, Stream
from ._rftplib import _read_listing

__all__ = ["FTPFile", "FTPFileSystem", "FTPSFileSystem", "register"]

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


class FTPFileSystem(AbstractFileSystem):
    """A filesystem over FTP (or FTPS) with a pool of rftplib sessions.

    The parameters of fsspec's ``FTPFileSystem``: *host*, *port* (21, or 990
    with implicit TLS), *username*/*password*/*acct* (anonymous without),
    *block_size* (read-ahead and write buffer, default 64 KiB), *tempdir*
    (where writes in a transaction wait to be committed; default: beside
    their target), *timeout* (seconds, per operation on a
    session), *encoding* (of paths), *tls* (True for explicit FTPS; a string
    such as ``"tls"`` means implicit FTPS, as in fsspec). And rftplib's:
    *connections*, the most sessions open at once (default 4); *implicit_tls*;
    *ssl_context* for certificate checks (an instance with one cannot be
    pickled); *retries*, how often an operation that failed on its
    connection is tried again on a new session (default 3).
    """

    protocol = ("rftp",)
    root_marker = "/"
    _default_tls = False

    def __init__(
        self,
        host,
        port=None,
        username=None,
        password=None,
        acct=None,
        block_size=None,
        tempdir=None,
        timeout=30,
        encoding="utf-8",
        tls=None,
        *,
        connections=4,
        implicit_tls=False,
        ssl_context=None,
        retries=3,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if tls is None:
            tls = self._default_tls
        if isinstance(tls, str):
            implicit_tls = True  # fsspec's meaning of a protocol name
        self.tls = bool(tls) or bool(implicit_tls)
        self.implicit_tls = bool(implicit_tls)
        self.host = host
        self.port = int(port) if port else (990 if self.implicit_tls else 21)
        self.cred = (username or "", password or "", acct or "")
        self.timeout = timeout
        self.encoding = encoding
        self.blocksize = block_size or 2**16
        self.tempdir = tempdir
        self.connections = max(1, int(connections))
        self.ssl_context = ssl_context
        self.retries = max(0, int(retries))
        self._local = threading.local()
        self._mlsd = None  # unknown until the first listing
        self._server_hash = None  # whether the server hashes files: unknown yet
        self._pipeline = True  # REST+RETR sent together (see _retr)
        self._pool = Pool(self._session_spec().connect, self.connections)
        # Every session closes when the instance goes, even without close().
        self._finalizer = weakref.finalize(self, self._pool.close)

    # -- sessions ----------------------------------------------------------------

    def _session_spec(self):
        """What a new session needs, without a reference to this instance
        (the pool outlives it in the finalizer)."""
        return _SessionSpec(
            self.host,
            self.port,
            self.cred,
            self.timeout,
            self.encoding,
            self.tls,
            self.implicit_tls,
            self.ssl_context,
        )

    def _retr(self, ftp, path, rest):
        """A data connection carrying ``path`` from offset ``rest``.

        On plain FTP, REST and RETR go out together right after PASV/EPSV and
        the data connection is opened while they travel: two round trips
        fewer than ``transfercmd`` (PASV, connect, REST, RETR one by one).
        TLS data connections need rftplib's own handshake: ``transfercmd``.
        """
        if self.tls or not self._pipeline:
            return ftp.transfercmd(f"RETR {path}", rest=rest or None)
        host, port = ftp.makepasv()
        if rest:
            ftp.putcmd(f"REST {rest}")
        ftp.putcmd(f"RETR {path}")
        try:
            conn = socket.create_connection((host, port), self.timeout)
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
            raise OSError(errno.ECONNREFUSED, f"cannot open the data connection to {host}:{port}")
        return conn

    def _run(self, fn):
        """``fn(session)`` on a pooled session, again on a new one if the
        connection fails (up to ``retries`` times). 5xx replies propagate."""
        attempt = 0
        while True:
            try:
                ftp = self._pool.acquire()
            except error_perm as exc:  # the login was refused
                raise _error(PermissionError, exc, f"{self.host}:{self.port}") from exc
            except _RETRYABLE:
                if attempt >= self.retries:
                    raise
                attempt += 1
                time.sleep(min(0.05 * 2**attempt, 1.0))
                continue
            try:
                result = fn(ftp)
                if type(result) is _HandedOff:
                    return result.value  # the session is someone else's now
            except error_perm:
                self._pool.release(ftp)
                raise
            except BaseException as exc:
                self._pool.discard(ftp)
                if attempt >= self.retries or not isinstance(exc, _RETRYABLE):
                    raise
                attempt += 1
                time.sleep(min(0.05 * 2**attempt, 1.0))
                continue
            self._pool.release(ftp)
            return result

    def _map(self, fn, items):
        """``[fn(x) for x in items]`` over up to ``connections`` threads."""
        items = list(items)
        if len(items) <= 1 or self.connections == 1:
            return [fn(x) for x in items]
        with ThreadPoolExecutor(min(self.connections, len(items))) as pool:
            return list(pool.map(fn, items))

    def close(self):
        """Close every session now (the instance stays usable: it reconnects)."""
        self._pool.close()

    # -- paths ---------------------------------------------------------------------

    @classmethod
    def _strip_protocol(cls, path):
        if isinstance(path, list):
            return [cls._strip_protocol(p) for p in path]
        path = os.fspath(path)
        if "://" in path:
            path = infer_storage_options(path)["path"]
        return "/" + path.lstrip("/").rstrip("/")

    @staticmethod
    def _get_kwargs_from_urls(urlpath):
        out = infer_storage_options(urlpath)
        out.pop("path", None)
        out.pop("protocol", None)
        for key in ("username", "password"):
            if out.get(key) is not None:
                out[key] = unquote(out[key])
        return out

    # -- listings -------------------------------------------------------------------

    def _list_raw(self, ftp, path):
        """Entries of directory ``path`` as fsspec dicts; error_perm if not one.

        MLSD where FEAT offers MLST, else LIST in any dialect rftplib's
        listing parser reads (Unix, DOS/IIS, EPLF). Read in binary mode, the
        session's only mode, rather than through ``scandir`` (which switches
        to ASCII and back, two more round trips per directory).
        """
        if self._has_mlst(ftp):
            conn = ftp.transfercmd(f"MLSD {path}")
        else:
            # LIST of a missing path is an empty listing on some servers
            # (vsftpd), and of a file is that file: CWD tells a directory apart.
            ftp.cwd(path)
            conn = ftp.transfercmd("LIST")
        with conn:
            entries = _read_listing(conn, self._mlsd, path, self.encoding)
        ftp.voidresp()
        return [_entry_dict(e, path) for e in entries if e.name not in (".", "..")]

    def ls(self, path, detail=True, refresh=False, **kwargs):
        path = self._strip_protocol(path)
        entries = None if refresh else self.dircache.get(path)
        if entries is None:
            try:
                entries = self._run(lambda ftp: self._list_raw(ftp, path))
            except error_perm as exc:
                info = self._lookup(path, refresh=True)
                if info is None:
                    raise _error(FileNotFoundError, exc, path) from exc
                if info["type"] == "directory":
                    raise _error(PermissionError, exc, path) from exc
                entries = [info]
            else:
                self.dircache[path] = entries
        if detail:
            return list(entries)
        return sorted(e["name"] for e in entries)

    def _lookup(self, path, refresh=False):
        """The entry for ``path`` from its parent's listing, or None."""
        path = self._strip_protocol(path)
        if path == "/":
            return {"name": "/", "size": 0, "type": "directory"}
        parent = self._parent(path)
        if refresh:
            self.dircache.pop(parent, None)
        try:
            entries = self.ls(parent, detail=True)
        except (FileNotFoundError, NotADirectoryError):
            return None
        for entry in entries:
            if entry["name"] == path:
                return entry
        return None

    def _has_mlst(self, ftp):
        """Whether the server offers MLST/MLSD (FEAT, asked once per instance)."""
        if self._mlsd is None:
            try:
                self._mlsd = "MLST" in ftp.feat()
            except error_perm:
                self._mlsd = False
        return self._mlsd

    def _mlst(self, path):
        """The entry for ``path`` from one MLST, or None (no MLST, or refused)."""

        def mlst(ftp):
            if not self._has_mlst(ftp):
                return None
            try:
                entry = ftp.stat(path, mlst=True)
            except error_perm:
                return None
            out = _entry_dict(entry, self._parent(path))
            out["name"] = path
            return out

        return self._run(mlst)

    def info(self, path, **kwargs):
        path = self._strip_protocol(path)
        if path != "/" and self.dircache.get(self._parent(path)) is None:
            # One MLST rather than a listing of a directory that may be huge.
            entry = self._mlst(path)
            if entry is not None:
                return entry
        try:
            entry = self._lookup(path)
        except PermissionError:
            entry = self._probe(path)  # an unlistable parent: ask about the path itself
        if entry is None:
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", path)
        return dict(entry)

    def _probe(self, path):
        def probe(ftp):
            try:
                size = ftp.size(path)
            except error_perm:
                try:
                    ftp.cwd(path)
                except error_perm:
                    return None
                return {"name": path, "size": 0, "type": "directory"}
            return {
                "name": path,
                "size": size,
                "type": "file",
                "modified": _mdtm(ftp, path),
            }

        return self._run(probe)

    def invalidate_cache(self, path=None):
        if path is None:
            self.dircache.clear()
        else:
            path = self._strip_protocol(path)
            self.dircache.pop(path, None)
            self.dircache.pop(self._parent(path), None)
        super().invalidate_cache(path)

    def find(self, path, maxdepth=None, withdirs=False, detail=False, **kwargs):
        """As fsspec's, with the directories of each level listed over the pool."""
        path = self._strip_protocol(path)
        out = {}
        try:
            top = self.info(path)
        except FileNotFoundError:
            return {} if detail else []
        if top["type"] != "directory":
            out[path] = top
        else:
            if withdirs and path != "/":
                out[path] = top
            level, depth = [path], 1
            while level and (maxdepth is None or depth <= maxdepth):
                listings = self._map(lambda p: self.ls(p, detail=True), level)
                level = []
                for entries in listings:
                    for entry in entries:
                        if entry["type"] == "directory":
                            level.append(entry["name"])
                            if withdirs:
                                out[entry["name"]] = entry
                        else:
                            out[entry["name"]] = entry
                depth += 1
        names = sorted(out)
        if detail:
            return {name: out[name] for name in names}
        return names

    # -- reads ------------------------------------------------------------------------

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
                conn = self._retr(ftp, path, s)
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
                    data = _read_all(conn)
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
        if outfile is None and isfilelike(lpath):
            outfile = lpath
        if outfile is None:
            entry = self._ls_entry_cached(rpath)
            if entry is not None and entry["type"] == "directory":
                os.makedirs(lpath, exist_ok=True)
                return
            parent = os.path.dirname(os.fspath(lpath))
            if parent:
                os.makedirs(parent, exist_ok=True)

        def fetch(ftp):
            conn = self._retr(ftp, rpath, 0)
            try:
                if outfile is not None and hasattr(outfile, "seek"):
                    outfile.seek(0)  # a retry starts over
                with (
                    open(lpath, "wb")
                    if outfile is None
                    else contextlib.nullcontext(outfile)
                ) as f:
                    buf = bytearray(_CHUNK)
                    view = memoryview(buf)
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
        entry = self._ls_entry_cached(rpath)
        small = entry is not None and entry["type"] == "file" and entry["size"] < _NATIVE_MIN
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

    def _ls_entry_cached(self, path):
        listing = self.dircache.get(self._parent(path))
        if listing:
            for entry in listing:
                if entry["name"] == path:
                    return entry
        return None

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
        jobs = []
        self._local.jobs = jobs
        try:
            super().get(
                rpath,
                lpath,
                recursive=recursive,
                callback=callback,
                maxdepth=maxdepth,
                **kwargs,
            )
        finally:
            self._local.jobs = None
        dirs = [
            (r, lp)
            for r, lp in jobs
            if (e := self._ls_entry_cached(r)) and e["type"] == "directory"
        ]
        for _, lp in dirs:
            os.makedirs(lp, exist_ok=True)
        files = [job for job in jobs if job not in dirs]
        self._map(lambda job: self.get_file(job[0], job[1], **kwargs), files)

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
            self._run(lambda ftp: self._store(ftp, path, value))
        except error_perm as exc:
            raise self._explain_write(exc, path) from exc
        finally:
            self.invalidate_cache(path)

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
                    lpath, rpath, verify=True, retries=self.retries, progress=_progress(callback)
                )
                return
            with open(lpath, "rb") as f:
                self._store(ftp, rpath, f, callback)

        try:
            try:
                self._run(send)
            except error_perm as exc:
                # Perhaps the directory is missing: make it, try once more.
                if self._lookup(self._parent(rpath), refresh=True) is not None:
                    raise
                self.makedirs(self._parent(rpath), exist_ok=True)
                try:
                    self._run(send)
                except error_perm:
                    raise exc from None
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
        jobs = []
        self._local.jobs = jobs
        try:
            super().put(
                lpath,
                rpath,
                recursive=recursive,
                callback=callback,
                maxdepth=maxdepth,
                **kwargs,
            )
        finally:
            self._local.jobs = None
        dirs = sorted({rp for lp, rp in jobs if os.path.isdir(lp)})
        parents = sorted({self._parent(rp) for lp, rp in jobs if not os.path.isdir(lp)})
        for d in sorted(set(dirs) | set(parents)):
            if d != "/" and self._ls_entry_cached(d) is None:
                self.makedirs(d, exist_ok=True)
        files = [job for job in jobs if not os.path.isdir(job[0])]
        self._map(lambda job: self.put_file(job[0], job[1], **kwargs), files)

    def mkdir(self, path, create_parents=True, **kwargs):
        path = self._strip_protocol(path)
        try:
            self._run(lambda ftp: ftp.mkd(path))
        except error_perm as exc:
            parent = self._parent(path)
            if self._lookup(path, refresh=True) is not None:
                raise _error(FileExistsError, exc, path) from exc
            if (
                not create_parents
                or parent == "/"
                or self._lookup(parent, refresh=True) is not None
            ):
                raise _translate(exc, path) from exc
            self.mkdir(parent, create_parents=True)
            try:
                self._run(lambda ftp: ftp.mkd(path))
            except error_perm as exc2:
                raise _translate(exc2, path) from exc2
        finally:
            self.invalidate_cache(path)

    def makedirs(self, path, exist_ok=False):
        path = self._strip_protocol(path)
        if path == "/":
            return
        try:
            self.mkdir(path, create_parents=True)
        except FileExistsError:
            if not exist_ok or self.info(path)["type"] != "directory":
                raise

    def rmdir(self, path):
        path = self._strip_protocol(path)
        try:
            self._run(lambda ftp: ftp.rmd(path))
        except error_perm as exc:
            entry = self._lookup(path, refresh=True)
            if entry is None:
                raise _error(FileNotFoundError, exc, path) from exc
            if entry["type"] != "directory":
                raise _error(NotADirectoryError, exc, path) from exc
            if self.ls(path, refresh=True):
                raise OSError(
                    errno.ENOTEMPTY, f"Directory not empty ({exc})", path
                ) from exc
            raise _translate(exc, path) from exc
        finally:
            self.invalidate_cache(path)

    def rm_file(self, path):
        path = self._strip_protocol(path)
        try:
            self._run(lambda ftp: ftp.delete(path))
        except error_perm as exc:
            raise self._explain(exc, path, directory=IsADirectoryError) from exc
        finally:
            self.invalidate_cache(path)

    _rm = rm_file

    def rm(self, path, recursive=False, maxdepth=None):
        paths = self.expand_path(path, recursive=recursive, maxdepth=maxdepth)
        kinds = {p: self.info(p)["type"] for p in paths}
        files = [p for p in paths if kinds[p] != "directory"]
        dirs = sorted(
            (p for p in paths if kinds[p] == "directory"), key=lambda p: -p.count("/")
        )
        self._map(self.rm_file, files)
        for d in dirs:
            self.rmdir(d)

    def mv(self, path1, path2, recursive=False, maxdepth=None, **kwargs):
        if not (isinstance(path1, str) and isinstance(path2, str)):
            return super().mv(
                path1, path2, recursive=recursive, maxdepth=maxdepth, **kwargs
            )
        path1, path2 = self._strip_protocol(path1), self._strip_protocol(path2)
        try:
            self._run(lambda ftp: ftp.rename(path1, path2))
        except error_perm as exc:
            raise self._explain(exc, path1) from exc
        finally:
            self.invalidate_cache(path1)
            self.invalidate_cache(path2)

    rename = mv

    # -- metadata ---------------------------------------------------------------------

    def modified(self, path):
        path = self._strip_protocol(path)
        entry = self.info(path)
        if entry.get("modified") is not None:
            return entry["modified"]
        try:
            return self._run(lambda ftp: _mdtm(ftp, path, strict=True))
        except error_perm as exc:
            raise self._explain(exc, path) from exc

    def checksum(self, path):
        """An int that changes when the file does: the server's hash of the
        file where FEAT offers one (HASH, XSHA256, XSHA1, XMD5, XCRC; the
        server reads the whole file), else from its size and modification time."""
        path = self._strip_protocol(path)
        if self._server_hash is not False:
            try:
                _, digest = self._run(lambda ftp: ftp.checksum(path))
            except error_perm as exc:
                if self._server_hash or str(exc)[:3] not in ("500", "501", "502", "504"):
                    raise self._explain(exc, path, directory=IsADirectoryError) from exc
                self._server_hash = False
            else:
                self._server_hash = True
                return int(digest, 16)
        info = self.info(path)
        return int(tokenize(info["name"], info["size"], str(info.get("modified"))), 16)

    def ukey(self, path):
        info = self.info(path)
        text = f"{info['name']}|{info['size']}|{info.get('modified')}"
        return hashlib.sha256(text.encode()).hexdigest()

    # -- errors -----------------------------------------------------------------------

    def _explain_write(self, exc, path):
        """The builtin error a 5xx to STOR/APPE of ``path`` means."""
        if str(exc)[:3] not in ("550", "450", "553"):
            return _translate(exc, path)
        try:
            entry = self._lookup(path, refresh=True)
            parent = self._lookup(self._parent(path), refresh=True)
        except OSError:
            entry = parent = None
        if entry is not None and entry["type"] == "directory":
            return _error(IsADirectoryError, exc, path)
        if parent is None:
            return _error(FileNotFoundError, exc, path)
        return _error(PermissionError, exc, path)

    def _explain(self, exc, path, directory=None):
        """The builtin error a 5xx about ``path`` means, found by looking."""
        code = str(exc)[:3]
        if code not in ("550", "450", "501", "553", "554"):
            return _translate(exc, path)
        try:
            entry = self._lookup(path, refresh=True)
        except OSError:
            entry = None
        if entry is None:
            return _error(FileNotFoundError, exc, path)
        if directory is not None and entry["type"] == "directory":
            return _error(directory, exc, path)
        if code == "553" or "denied" in str(exc).lower() or code == "550":
            return _error(PermissionError, exc, path)
        return _translate(exc, path)


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
            ftp.voidcmd("TYPE I")
        except BaseException:
            ftp.close()
            raise
        return ftp


class FTPSFileSystem(FTPFileSystem):
    """``FTPFileSystem`` with TLS on by default (explicit FTPS, AUTH TLS): ``rftps://``."""

    protocol = ("rftps",)
    _default_tls = True


class FTPFile(AbstractBufferedFile):
    """A file on the server: random-access reads, streaming writes (one STOR).

    Reading front to back keeps one RETR open across ``read()`` calls; a seek
    elsewhere ends it (close the data connection, take the one reply) and
    starts a RETR at the new offset. Between reads the open RETR is parked in
    the pool, which may end it if another caller needs the session.
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
        while True:
            stream = pool.unpark(self._key)
            ftp = stream.ftp if stream is not None else None
            conn = None
            try:
                if (
                    stream is not None
                    and not stream.eof
                    and 0 < start - stream.pos <= _SKIP_LIMIT
                ):
                    stream.skip(start - stream.pos)
                if stream is not None and (stream.eof or stream.pos != start):
                    pool.stop_later(stream)  # its session comes back when it is done
                    stream = ftp = None
                if ftp is None:
                    ftp = pool.acquire()
                if stream is None:
                    conn = fs._retr(ftp, self.path, start)
                    stream = Stream(ftp, conn, start)
                data = stream.read(end - start)
            except error_perm as exc:
                pool.release(ftp)
                raise fs._explain(exc, self.path, directory=IsADirectoryError) from exc
            except BaseException as exc:
                if stream is not None:
                    stream.conn.close()
                elif conn is not None:
                    conn.close()
                if ftp is not None:
                    pool.discard(ftp)
                if attempt >= fs.retries or not isinstance(exc, _RETRYABLE):
                    raise
                attempt += 1
                continue
            if stream.eof or stream.pos >= self.size:
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
                pool.park(self._key, stream)
            return data

    def _initiate_upload(self):
        if self.mode == "xb" and self.fs.exists(self.path):
            raise FileExistsError(errno.EEXIST, "File exists", self.path)
        cmd = "APPE" if self.mode == "ab" else "STOR"
        pool = self.fs._pool
        ftp = pool.acquire()
        try:
            self._conn = ftp.transfercmd(f"{cmd} {self.path}")
        except error_perm as exc:
            pool.release(ftp)
            raise self.fs._explain_write(exc, self.path) from exc
        except BaseException:
            pool.discard(ftp)
            raise
        self._ftp = ftp

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
            if stream is not None:
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


def register(ftp=False):
    """Register ``rftp://`` and ``rftps://`` with fsspec (the entry point does
    this already); with ``ftp=True`` also ``ftp://`` and ``ftps://``,
    replacing fsspec's own FTP filesystem in this process."""
    import fsspec

    fsspec.register_implementation("rftp", FTPFileSystem, clobber=True)
    fsspec.register_implementation("rftps", FTPSFileSystem, clobber=True)
    if ftp:
        fsspec.register_implementation("ftp", FTPFileSystem, clobber=True)
        fsspec.register_implementation("ftps", FTPSFileSystem, clobber=True)


# -- helpers ---------------------------------------------------------------------------


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


def _read_all(conn):
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
