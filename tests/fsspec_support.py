"""Helpers for the fsspec suites: a filesystem on a test server, and paths on it."""

from __future__ import annotations

from support import TIMEOUT


def base(srv):
    """The server path of ``srv.root``: pyftpdlib serves it as "/", vsftpd
    (no chroot) under its real path."""
    return "" if "Pyftpdlib" in type(srv).__name__ else str(srv.root)


def url(srv, path="", scheme="rftp"):
    """An rftp:// URL with credentials for ``path`` under the server's root."""
    return f"{scheme}://{srv.user}:{srv.password}@{srv.host}:{srv.port}{base(srv)}/{path.lstrip('/')}"


def make_fs(srv, **kwargs):
    """A fresh FTPFileSystem (never one from fsspec's instance cache) on ``srv``."""
    from rftplib.fsspec import FTPFileSystem

    kwargs.setdefault("timeout", TIMEOUT)
    kwargs.setdefault("skip_instance_cache", True)
    cls = kwargs.pop("cls", FTPFileSystem)
    return cls(srv.host, srv.port, srv.user, srv.password, **kwargs)
