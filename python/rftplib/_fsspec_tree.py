"""Directory and metadata operations of rftplib.fsspec.FTPFileSystem (a
mixin): mkdir, rm, mv, modified, checksum, and the errors 5xx replies mean."""

from __future__ import annotations

import errno
import hashlib

from fsspec.utils import tokenize

from . import error_perm
from ._fsspec_support import (
    _error,
    _mdtm,
    _translate,
)


class _TreeOps:
    """mkdir/rm/mv/metadata; needs FTPFileSystem's ``_run``, ``_map``, ``_lookup``."""

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
                if self._server_hash or str(exc)[:3] not in (
                    "500",
                    "501",
                    "502",
                    "504",
                ):
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
