"""What an ``rftp`` URL names, and the login it needs.

``ftp://[user[:password]@]host[:port]/path`` and ``ftps://`` (explicit TLS).
The path is read as RFC 1738, curl and urllib read it: split on ``/``, each
segment percent-decoded, relative to the login directory; ``%2F`` (a decoded
``/``) or an empty first segment (``ftp://host//etc``) makes it absolute.
rftp sends the joined path in one command instead of a CWD per segment.

Passwords come, in this order, from the URL, the ``RFTP_PASSWORD``
environment variable, ``~/.netrc`` (the netrc module), or a prompt that does
not echo (getpass) when stdin is a terminal; without a user, the login is
anonymous (or the netrc entry for the host).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

__all__ = ["Target", "UsageError", "parse_url", "resolve_login"]

ANONYMOUS = ("anonymous", "ftp")
PASSWORD_ENV = "RFTP_PASSWORD"


class UsageError(Exception):
    """A command line that cannot be run (exit status 2)."""


@dataclass
class Target:
    scheme: str  # "ftp" or "ftps"
    host: str
    port: int | None  # None: the scheme's default
    user: str | None
    password: str | None
    path: str  # decoded; "" is the login directory
    trailing_slash: bool  # the URL named a directory ("ftp://h/pub/")

    @property
    def tls(self):
        return self.scheme == "ftps"

    def display(self):
        """The path as messages show it ("." for the login directory)."""
        return self.path or "."


def parse_url(url):
    """Split an ftp:// or ftps:// URL; raise UsageError for anything else."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as e:
        raise UsageError(f"bad URL {mask_url(url)!r}: {e}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("ftp", "ftps"):
        raise UsageError(f"not an ftp:// or ftps:// URL: {mask_url(url)!r}")
    if not parts.hostname:
        raise UsageError(f"no host in URL {mask_url(url)!r}")
    if parts.query or parts.fragment:
        raise UsageError(
            f"URL {mask_url(url)!r} has a '?' or '#': percent-encode them (%3F, %23)"
        )
    raw = parts.path
    trailing = raw.endswith("/") and raw != "/"
    path = decode_path(raw)
    user = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    return Target(scheme, parts.hostname, port, user, password, path, trailing)


def decode_path(raw):
    """The URL path (after the host) as the FTP path it names."""
    raw = raw.removeprefix("/")  # the separator after the host
    if not raw:
        return ""
    segments = [unquote(s, errors="strict") for s in raw.split("/")]
    path = "/".join(segments)
    if path != "/" and path.endswith("/"):
        path = path.rstrip("/") or "/"
    return path


def mask_url(url):
    """``url`` with any password replaced by ``****``."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
    except ValueError:
        return url
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user = userinfo.split(":", 1)[0]
    return parts._replace(netloc=f"{user}:****@{hostport}").geturl()


def resolve_login(target, *, stdin_isatty=None, getpass=None, environ=None):
    """(user, password) for ``target``: URL, RFTP_PASSWORD, ~/.netrc, prompt."""
    environ = os.environ if environ is None else environ
    if target.user is not None and target.password is not None:
        return target.user, target.password
    entry = _netrc_entry(target.host)
    if target.user is None:
        if entry is not None and entry[0]:
            return entry[0], entry[2] or ""
        return "anonymous", ""
    user = target.user
    if environ.get(PASSWORD_ENV):
        return user, environ[PASSWORD_ENV]
    if entry is not None and entry[0] == user and entry[2] is not None:
        return user, entry[2]
    if user.lower() in ANONYMOUS:
        return user, ""  # FTP.login() sends "anonymous@"
    if stdin_isatty is None:
        stdin_isatty = sys.stdin is not None and sys.stdin.isatty()
    if stdin_isatty:
        if getpass is None:
            from getpass import getpass
        return user, getpass(f"Password for {user}@{target.host}: ")
    raise UsageError(
        f"no password for {user}@{target.host}: set {PASSWORD_ENV}, "
        "add it to ~/.netrc, or run rftp on a terminal to be asked"
    )


def _netrc_entry(host):
    """netrc's (login, account, password) for ``host`` (or its default), else None."""
    import netrc

    try:
        return netrc.netrc().authenticators(host)
    except FileNotFoundError:
        return None
    except (OSError, netrc.NetrcParseError) as e:
        raise UsageError(f"cannot read ~/.netrc: {e}") from None
