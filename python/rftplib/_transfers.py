"""Additions to ``FTP`` beyond ftplib: ``feat()``, ``checksum()``,
``download()`` and ``upload()``. Installed on the class by ``install``."""

from __future__ import annotations

import codecs
import os
import time
import weakref

from . import _progress
from ._rftplib import (
    Error,
    _choose_hash,
    _download,
    _parse_feat,
    _parse_hash_reply,
    _upload,
    error_perm,
)

_FEAT_CACHE = "_rftplib_feat"


def feat(self):
    """The server's FEAT reply as ``{NAME: params}`` (names upper-cased).

    Cached per control connection: a new ``connect()`` asks again.
    """
    cached = _cached_feat(self)
    if cached is not None:
        return cached
    features = dict(_parse_feat(self.sendcmd("FEAT")))
    _remember_feat(self, features)
    return dict(features)


def _cached_feat(self):
    """FEAT as cached for the current control connection, or None."""
    sock = self.sock
    cached = self.__dict__.get(_FEAT_CACHE)
    if cached is not None and sock is not None and cached[0]() is sock:
        return dict(cached[1])
    return None


def _remember_feat(self, features):
    try:
        ref = weakref.ref(self.sock)
    except TypeError:  # a socket object without weak references
        return
    self.__dict__[_FEAT_CACHE] = (ref, dict(features))


def _check_ready(self):
    if self.sock is None:
        raise Error("not connected: call connect() and login() first")
    if codecs.lookup(self.encoding).name not in ("utf-8", "iso8859-1"):
        raise ValueError(
            "whole-file transfers support the utf-8 and latin-1 encodings, "
            f"not {self.encoding}"
        )


def _features_or_none(self):
    if self.sock is None:
        raise Error("not connected: call connect() and login() first")
    try:
        return self.feat()
    except error_perm:
        return {}


def _mark_selected(self, name):
    cached = self.__dict__.get(_FEAT_CACHE)
    if cached is None or "HASH" not in cached[1]:
        return
    algos = [a.rstrip("*") for a in cached[1]["HASH"].split(";") if a]
    cached[1]["HASH"] = ";".join(a + "*" if a == name else a for a in algos)


def checksum(self, path, algorithm=None):
    """The server's hash of a remote file: ``(algorithm, hexdigest)``.

    Uses HASH (selecting the algorithm with OPTS HASH) or XSHA256/XSHA1/XMD5/XCRC,
    as FEAT announces them; the strongest is picked unless *algorithm*
    ("SHA-256", "SHA-1", "MD5", "CRC32") is given. Raises error_perm when the
    server offers no way to hash the file with it.
    """
    features = _features_or_none(self)
    method = _choose_hash(list(features.items()), algorithm)
    if method is None:
        wanted = algorithm if algorithm is not None else "a"
        raise error_perm(f"502 The server offers no {wanted} checksum command (FEAT)")
    command, name, opts = method
    if opts is not None:
        self.sendcmd("OPTS HASH " + opts)
        _mark_selected(self, opts)
    resp = self.sendcmd(f"{command} {path}")
    digest = _parse_hash_reply(resp, name)
    if digest is None:
        raise error_perm(f"502 No {name} digest in the reply: {resp!r}")
    return name, digest


class TransferResult:
    """What ``FTP.download()`` and ``FTP.upload()`` did.

    ``bytes`` counts the bytes moved by this call (not those resumed from);
    ``resumed_from`` is where it started; ``connections`` how many sessions
    carried the data; ``checksum_algorithm``/``checksum`` the server hash
    that was verified, or None when the server offers none.
    """

    __slots__ = (
        "bytes",
        "checksum",
        "checksum_algorithm",
        "connections",
        "local",
        "remote",
        "resumed_from",
        "seconds",
    )

    def __init__(
        self,
        remote,
        local,
        bytes,
        seconds,
        resumed_from=0,
        connections=1,
        checksum_algorithm=None,
        checksum=None,
    ):
        self.remote = remote
        self.local = local
        self.bytes = bytes
        self.seconds = seconds
        self.resumed_from = resumed_from
        self.connections = connections
        self.checksum_algorithm = checksum_algorithm
        self.checksum = checksum

    def __repr__(self):
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in _FIELDS)
        return f"TransferResult({fields})"

    def __eq__(self, other):
        if not isinstance(other, TransferResult):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in _FIELDS)

    __hash__ = None


_FIELDS = (
    "remote",
    "local",
    "bytes",
    "seconds",
    "resumed_from",
    "connections",
    "checksum_algorithm",
    "checksum",
)


def _basename(remote):
    name = remote.rstrip("/").rsplit("/", 1)[-1]
    if not name or name in (".", ".."):
        raise ValueError(f"cannot name a local file after {remote!r}: give local=")
    return name


def _is_fileobj(obj, method):
    return not isinstance(obj, (str, bytes, os.PathLike)) and hasattr(obj, method)


def _progress_callback(progress, label):
    if progress is True:
        bar = _progress.Bar(label)
        return bar, bar
    if progress is None or progress is False:
        return None, None
    if not callable(progress):
        raise TypeError("progress must be a callable, True, or None")
    return progress, None


def _result(remote, local, start, reported):
    nbytes, _size, resumed_from, connections, checksum, _mtime = reported
    algo, digest = checksum if checksum is not None else (None, None)
    return TransferResult(
        remote,
        local,
        nbytes,
        time.monotonic() - start,
        resumed_from,
        connections,
        algo,
        digest,
    )


def download(
    self,
    remote,
    local=None,
    *,
    resume=True,
    connections=1,
    verify=True,
    progress=None,
    retries=3,
    rate_limit=None,
    preserve_mtime=False,
    blocksize=None,
):
    """Download the remote file *remote*; see the stub for the details."""
    if not isinstance(remote, str):
        raise TypeError(f"remote must be a str, not {type(remote).__name__}")
    fileobj = None
    target = None
    if local is None:
        target = _basename(remote)
    elif _is_fileobj(local, "write"):
        fileobj = local
        if connections != 1:
            connections = 1
    else:
        target = os.fspath(local)
        if isinstance(target, bytes):
            target = os.fsdecode(target)
        if os.path.isdir(target):
            target = os.path.join(target, _basename(remote))
    callback, bar = _progress_callback(progress, _basename(remote) if remote else "")
    _check_ready(self)
    # Not known yet: the engine asks FEAT together with its first commands.
    features = _cached_feat(self)
    start = time.monotonic()
    try:
        reported = _download(
            self,
            remote,
            target,
            fileobj,
            bool(resume),
            int(connections),
            bool(verify),
            callback,
            int(retries),
            None if rate_limit is None else float(rate_limit),
            bool(preserve_mtime),
            0 if blocksize is None else int(blocksize),
            None if features is None else list(features.items()),
        )
    finally:
        if bar is not None:
            bar.close()
    if reported[6] is not None:
        _remember_feat(self, reported[6])
    return _result(remote, target if fileobj is None else fileobj, start, reported[:6])


def upload(
    self,
    local,
    remote=None,
    *,
    resume=False,
    atomic=False,
    verify=True,
    progress=None,
    retries=3,
    rate_limit=None,
    preserve_mtime=False,
    blocksize=None,
):
    """Upload *local* (a path or a readable binary file) to *remote*."""
    fileobj = None
    path = None
    if _is_fileobj(local, "read"):
        fileobj = local
        if remote is None:
            name = getattr(local, "name", None)
            if not isinstance(name, str):
                raise ValueError("give remote= for a file object without a name")
            remote = os.path.basename(name)
    else:
        path = os.fspath(local)
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        if remote is None:
            remote = os.path.basename(path)
    if not isinstance(remote, str) or not remote:
        raise ValueError("remote must be a non-empty str")
    callback, bar = _progress_callback(progress, os.path.basename(remote))
    _check_ready(self)
    features = _features_or_none(self)
    start = time.monotonic()
    try:
        reported = _upload(
            self,
            remote,
            path,
            fileobj,
            bool(resume),
            bool(atomic),
            bool(verify),
            callback,
            int(retries),
            None if rate_limit is None else float(rate_limit),
            bool(preserve_mtime),
            0 if blocksize is None else int(blocksize),
            list(features.items()),
        )
    finally:
        if bar is not None:
            bar.close()
    return _result(remote, path if fileobj is None else fileobj, start, reported)


def install(cls):
    cls.feat = feat
    cls.checksum = checksum
    cls.download = download
    cls.upload = upload
