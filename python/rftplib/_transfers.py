"""Additions to ``FTP`` beyond ftplib: ``feat()``, ``checksum()``,
``download()`` and ``upload()``. Installed on the class by ``install``."""

from __future__ import annotations

import weakref

from ._rftplib import _choose_hash, _parse_feat, _parse_hash_reply, error_perm

_FEAT_CACHE = "_rftplib_feat"


def feat(self):
    """The server's FEAT reply as ``{NAME: params}`` (names upper-cased).

    Cached per control connection: a new ``connect()`` asks again.
    """
    sock = self.sock
    cached = self.__dict__.get(_FEAT_CACHE)
    if cached is not None and sock is not None and cached[0]() is sock:
        return dict(cached[1])
    features = dict(_parse_feat(self.sendcmd("FEAT")))
    try:
        ref = weakref.ref(sock)
    except TypeError:  # a socket object without weak references
        return features
    self.__dict__[_FEAT_CACHE] = (ref, features)
    return dict(features)


def _features_or_none(self):
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


def install(cls):
    cls.feat = feat
    cls.checksum = checksum
