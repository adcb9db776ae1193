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

import errno
import os
import threading
import time
import weakref
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import unquote

from fsspec.spec import AbstractFileSystem
from fsspec.utils import infer_storage_options

from . import error_perm
from ._fsspec_file import FTPFile
from ._fsspec_io import _Transfers
from ._fsspec_pool import Pool
from ._fsspec_support import (
    _RETRYABLE,
    _entry_dict,
    _error,
    _HandedOff,
    _mdtm,
    _SessionSpec,
)
from ._fsspec_tree import _TreeOps
from ._rftplib import _read_listing

__all__ = ["FTPFile", "FTPFileSystem", "FTPSFileSystem", "register"]

# The pool of an instance made without ``connections``: this many sessions
# serve its own parallel calls (cat_ranges, get, ...); while more threads than
# are busy call at once, it grows up to _POOL_GROW_TO.
_POOL_START = 4
_POOL_GROW_TO = 16


class FTPFileSystem(_Transfers, _TreeOps, AbstractFileSystem):
    """A filesystem over FTP (or FTPS) with a pool of rftplib sessions.

    The parameters of fsspec's ``FTPFileSystem``: *host*, *port* (21, or 990
    with implicit TLS), *username*/*password*/*acct* (anonymous without),
    *block_size* (read-ahead and write buffer, default 64 KiB), *tempdir*
    (where writes in a transaction wait to be committed; default: beside
    their target), *timeout* (seconds, per operation on a
    session), *encoding* (of paths), *tls* (True for explicit FTPS; a string
    such as ``"tls"`` means implicit FTPS, as in fsspec). And rftplib's:
    *connections*, the most sessions open at once (by default the pool
    starts at 4 and grows, up to 16, while more threads than that call at
    once; a number fixes it); *implicit_tls*;
    *ssl_context* for certificate checks (an instance with one cannot be
    pickled); *retries*, how often an operation that failed on its
    connection is tried again on a new session (default 3); *auto_mkdir*,
    whether a write into a missing directory makes it (default True).
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
        connections=None,
        implicit_tls=False,
        ssl_context=None,
        retries=3,
        auto_mkdir=True,
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
        if connections is None:  # sized to its callers
            self.connections, self.max_connections = _POOL_START, _POOL_GROW_TO
        else:
            self.connections = self.max_connections = max(1, int(connections))
        self.ssl_context = ssl_context
        self.retries = max(0, int(retries))
        self.auto_mkdir = bool(auto_mkdir)
        self._local = threading.local()
        self._mlsd = None  # unknown until the first listing
        self._server_hash = None  # whether the server hashes files: unknown yet
        self._pipeline = True  # REST+RETR sent together (see _retr)
        self._together = True  # PASV+REST+RETR in one write (see _retr_sized)
        self._pool = Pool(
            self._session_spec().connect,
            self.connections,
            grow_to=self.max_connections,
        )
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


class FTPSFileSystem(FTPFileSystem):
    """``FTPFileSystem`` with TLS on by default (explicit FTPS, AUTH TLS): ``rftps://``."""

    protocol = ("rftps",)
    _default_tls = True


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
