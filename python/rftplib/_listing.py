"""Directory listings: ftplib's lazy ``mlsd`` generator, and the parsed
listings rftplib adds to ``FTP`` (``scandir``, ``stat``, ``walk``).

The FTP dialogue goes through the ordinary methods (``sendcmd``,
``transfercmd``, ``voidresp``), so subclasses, debug output and audit events
behave as with ``retrlines``; only reading and parsing the listing happens
in Rust, in bulk, with the GIL released.
"""

import posixpath
import weakref
from datetime import datetime, timezone

from ._rftplib import (
    Entry,
    _mlst_entry,
    _parse_mlsd_line,
    _read_listing,
    error_perm,
    error_reply,
    error_temp,
)


def mlsd(ftp, path, facts):
    if facts:
        ftp.sendcmd("OPTS MLST " + ";".join(facts) + ";")
    if path:
        cmd = f"MLSD {path}"
    else:
        cmd = "MLSD"
    lines = []
    ftp.retrlines(cmd, lines.append)
    for line in lines:
        yield _parse_mlsd_line(line)


_NO_FEAT = "_rftplib_no_feat"


def _features(ftp):
    """The server's FEAT (``FTP.feat()``, cached per connection); empty when
    the server has no FEAT command, which is remembered for the connection
    too (feat() itself asks again each time)."""
    sock = ftp.sock
    no_feat = ftp.__dict__.get(_NO_FEAT)
    if no_feat is not None and sock is not None and no_feat() is sock:
        return {}
    try:
        return ftp.feat()
    except error_perm:  # 500/502: no FEAT, so no MLST/MLSD either
        try:
            ftp.__dict__[_NO_FEAT] = weakref.ref(sock)
        except TypeError:  # a socket object without weak references
            pass
        return {}


def scandir(self, path="", *, mlsd=None):
    """The entries of directory ``path`` (default: the current directory)
    as a list of :class:`rftplib.Entry`, without ``.`` and ``..``.

    Uses MLSD when the server lists it in FEAT, LIST otherwise; ``mlsd=True``
    or ``False`` forces one. The listing is read and parsed in Rust; LIST
    output in Unix ``ls -l``, Windows/IIS and EPLF styles is understood, and
    a line that is none of these becomes an entry of type ``"other"`` with
    its text in ``raw``.
    """
    if mlsd is None:
        mlsd = "MLST" in _features(self)
    cmd = "MLSD" if mlsd else "LIST"
    if path:
        # LIST takes ls options on most servers: "LIST -x" would list the
        # current directory with option x, not the directory "-x".
        arg = "./" + path if path.startswith("-") and not mlsd else path
        cmd = cmd + " " + arg
    # As retrlines: listings are ASCII-mode transfers.
    self.sendcmd("TYPE A")
    conn = self.transfercmd(cmd)
    with conn:
        entries = _read_listing(conn, mlsd, path, self.encoding)
    self.voidresp()
    return entries


def _mdtm(ftp, path):
    try:
        resp = ftp.sendcmd("MDTM " + path)
    except error_perm:
        return None
    value = resp[4:].strip()[:14]
    try:
        return datetime.strptime(value, "%Y%m%d%H%M%S").replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def stat(self, path, *, mlst=None):
    """One :class:`rftplib.Entry` for ``path``: from MLST when the server
    has it (``mlst=False`` skips it), else from SIZE and MDTM for a file,
    else from the listing of the parent directory. A missing path raises
    ``error_perm`` with the server's reply (550)."""
    if mlst is None:
        mlst = "MLST" in _features(self)
    if mlst:
        resp = self.sendcmd("MLST " + path if path else "MLST")
        if resp[:3] != "250":
            raise error_reply(resp)
        for line in resp.split("\n")[1:]:
            if line.startswith(" "):
                entry = _mlst_entry(line[1:], path)
                if entry is not None:
                    return entry
        raise error_reply(resp)
    # SIZE depends on TYPE (RFC 3659 §4), and some servers refuse it in ASCII.
    self.voidcmd("TYPE I")
    missing = None
    try:
        size = self.size(path)
    except error_perm as e:
        missing = e
        size = None
    name = posixpath.basename(path.rstrip("/"))
    if size is not None:
        return Entry(name, "file", path=path, size=size, modified=_mdtm(self, path))
    parent = posixpath.dirname(path.rstrip("/"))
    if name in ("", ".", ".."):
        # The root or a directory named by "." or "..": it exists if it lists.
        self.scandir(path, mlsd=False)
        return Entry(path or ".", "dir", path=path)
    for entry in self.scandir(parent, mlsd=False):
        if entry.name == name:
            return entry._with_path(path)
    if missing is not None and str(missing)[:3] == "550":
        raise missing
    # SIZE was refused as a command (500/502), not for this path.
    raise error_perm(f"550 {path}: No such file or directory.")


def walk(self, top="", *, topdown=True, onerror=None, mlsd=None):
    """Like :func:`os.walk` on the server: yields ``(dirpath, dirnames,
    filenames)`` for ``top`` and every directory below it. Symbolic links
    (type ``"link"``) go into ``filenames`` and are never followed. With
    ``topdown=True`` the caller may prune ``dirnames`` in place.

    A directory the server refuses to list (4xx/5xx reply) is skipped, after
    calling ``onerror(exc)`` if given; connection failures propagate.
    """
    return _walk(self, top, topdown, onerror, mlsd, set())


def _walk(ftp, top, topdown, onerror, mlsd, seen):
    try:
        entries = ftp.scandir(top, mlsd=mlsd)
    except (error_perm, error_temp) as e:
        if onerror is not None:
            onerror(e)
        return
    dirnames, filenames, unique = [], [], {}
    for entry in entries:
        if entry.type == "dir":
            dirnames.append(entry.name)
            # Some servers' MLSD describes a link as what it points to (a
            # "dir"); its MLSD `unique` fact tells a directory seen before.
            unique[entry.name] = entry.facts.get("unique")
        else:
            filenames.append(entry.name)
    if topdown:
        yield top, dirnames, filenames
    for name in dirnames:
        key = unique.get(name)
        if key is not None:
            if key in seen:
                continue
            seen.add(key)
        yield from _walk(ftp, posixpath.join(top, name), topdown, onerror, mlsd, seen)
    if not topdown:
        yield top, dirnames, filenames


def install(cls):
    """Adds the listing methods to ``cls`` (FTP; FTP_TLS inherits them)."""
    cls.scandir = scandir
    cls.stat = stat
    cls.walk = walk
