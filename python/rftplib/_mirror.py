"""``FTP.mirror()``: copy a directory tree from the server to the local disk,
or (``upload=True``) from the local disk to the server, over a pool of
sessions, like lftp's ``mirror`` and ``mirror -R``.

The work happens in Rust (``_rftplib._mirror_run``) with the GIL released;
this module checks the arguments, turns ``progress=True`` into a terminal
progress line, and reads the server's features once.
"""

import os
import sys
import time

from ._rftplib import Error, MirrorResult, _mirror_run

__all__ = ["MirrorResult", "install", "mirror"]


def _patterns(value, name):
    if value is None:
        return []
    if isinstance(value, (str, bytes, os.PathLike)):
        value = [value]
    out = []
    for p in value:
        if not isinstance(p, str):
            raise TypeError(f"{name} patterns must be str, not {type(p).__name__}")
        out.append(p)
    return out


def _features(ftp):
    """FEAT of the user's connection as ``[(NAME, params)]`` (empty if none)."""
    feat = getattr(ftp, "feat", None)
    if feat is not None:
        try:
            return [(name.upper(), params) for name, params in feat().items()]
        except (Error, OSError, EOFError):  # no FEAT: no MLSD, no MFMT, no HASH
            return []
    try:
        resp = ftp.sendcmd("FEAT")
    except (Error, OSError, EOFError):
        return []
    features = []
    for line in resp.split("\n")[1:]:
        if line.startswith(" ") and line.strip():
            name, _, params = line.strip().partition(" ")
            features.append((name.upper(), params))
    return features


def _human(n):
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024.0
    return f"{n:.0f} B"  # pragma: no cover


class _Line:
    """A one-line progress display on stderr, redrawn a few times a second,
    silent when stderr is not a terminal."""

    def __init__(self, stream=None):
        self.stream = stream if stream is not None else sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.start = time.monotonic()
        self.last = 0.0
        self.drawn = False

    def __call__(self, path, bytes_done, bytes_total, files_done, files_total):
        if not self.tty:
            return
        now = time.monotonic()
        if now - self.last < 0.2 and files_done != files_total:
            return
        self.last = now
        rate = bytes_done / max(now - self.start, 1e-6)
        eta = ""
        if rate > 0 and bytes_total > bytes_done:
            eta = f" ETA {(bytes_total - bytes_done) / rate:.0f}s"
        text = (
            f"{files_done}/{files_total} files  {_human(bytes_done)}/{_human(bytes_total)}"
            f"  {_human(rate)}/s{eta}  {path}"
        )
        width = 100
        self.stream.write("\r" + text[:width].ljust(width))
        self.stream.flush()
        self.drawn = True

    def close(self):
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()


def mirror(
    self,
    source,
    target,
    *,
    upload=False,
    connections=4,
    delete=False,
    newer_only=True,
    include=None,
    exclude=None,
    dry_run=False,
    verify=True,
    progress=None,
    retries=3,
    fail_fast=False,
):
    """Copy the remote directory *source* into the local directory *target*
    (with ``upload=True``, the local directory *source* to the remote
    directory *target*), like lftp's ``mirror`` (``mirror -R``).

    Files that already match (same size, and the same modification time
    within the listings' precision, or a newer target copy when
    *newer_only*) are skipped, so a second run transfers nothing.
    *delete* removes target files and directories the source no longer has.
    *include*/*exclude* are glob patterns (a string or a list) on paths
    relative to *source*: ``*`` and ``?`` stay within one path component,
    ``**`` spans components, ``[...]`` is a character class; a pattern
    without ``/`` is matched against the name alone, at any depth; an
    excluded directory is not entered. *dry_run* reports what would happen
    and changes nothing.

    Listings and transfers run over a pool of up to *connections* sessions
    logged in like this one (same credentials, TLS context and PROT); when
    the server refuses extra logins the pool shrinks instead of failing.
    Each file lands atomically (a ``.part`` file renamed into place once
    complete and, with *verify*, its size checked), resumes a ``.part`` left
    by an interrupted run, and is retried *retries* times after transient
    failures; downloaded files get the server's modification time.

    *progress* is ``True`` for a progress line on a terminal, or a callable
    ``progress(path, bytes_done, bytes_total, files_done, files_total)``
    called about ten times a second from this thread.

    A file that still fails is reported in ``MirrorResult.failed`` while the
    others complete; with *fail_fast* the first failure stops the run and
    raises. Ctrl-C stops within a fraction of a second, leaving ``.part``
    files to resume from. Returns a :class:`rftplib.MirrorResult`.
    """
    if (
        isinstance(connections, bool)
        or not isinstance(connections, int)
        or connections < 1
    ):
        raise ValueError("connections must be a positive int")
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ValueError("retries must be an int >= 0")
    include = _patterns(include, "include")
    exclude = _patterns(exclude, "exclude")
    source = os.fspath(source)
    target = os.fspath(target)
    for name, value in (("source", source), ("target", target)):
        if not isinstance(value, str):
            raise TypeError(f"{name} must be str or os.PathLike[str], not bytes")
    line = None
    if progress is True:
        line = callback = _Line()
    elif progress is None or progress is False:
        callback = None
    elif callable(progress):
        callback = progress
    else:
        raise TypeError("progress must be None, True or a callable")
    try:
        return _mirror_run(
            self,
            source,
            target,
            upload,
            connections,
            delete,
            newer_only,
            include,
            exclude,
            dry_run,
            verify,
            callback,
            retries,
            fail_fast,
            _features(self),
        )
    finally:
        if line is not None:
            line.close()


def install(cls):
    cls.mirror = mirror
