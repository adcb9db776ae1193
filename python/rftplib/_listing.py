"""Directory listings: ftplib's lazy ``mlsd`` generator, and the parsed
listings rftplib adds to ``FTP`` (``scandir``, ``stat``, ``walk``).

The FTP dialogue goes through the ordinary methods (``sendcmd``,
``transfercmd``, ``voidresp``), so subclasses, debug output and audit events
behave as with ``retrlines``; only reading and parsing the listing happens
in Rust, in bulk, with the GIL released.
"""

import posixpath
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

_FEAT_CACHE = "_rftplib_listing_feat"


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


def _parse_feat(resp):
    """FEAT reply -> {"MLST": "type*;size*;", "MDTM": "", ...}."""
    features = {}
    for line in resp.split("\n")[1:]:
        if not line.startswith(" "):
            continue
        name, _, params = line.strip().partition(" ")
        if name:
            features[name.upper()] = params
    return features


def _features(ftp):
    """The server's FEAT, asked once per control connection. Uses
    ``FTP.feat()`` when the class has one."""
    feat = getattr(ftp, "feat", None)
    if feat is not None:
        try:
            return feat()
        except error_perm:
            return {}
    cached = ftp.__dict__.get(_FEAT_CACHE)
    if cached is not None and cached[0] is ftp.sock:
        return cached[1]
    try:
        features = _parse_feat(ftp.sendcmd("FEAT"))
    except error_perm:  # 500/502: no FEAT, so no MLSD either
        features = {}
    ftp.__dict__[_FEAT_CACHE] = (ftp.sock, features)
    return features


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
        cmd = cmd + " " + path
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
        resp = self.sendcmd("MLST " + path)
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
    if missing is not None:
        raise missing
    raise error_perm(f"550 {path}: No such file or directory.")


def walk(self, top="", *, topdown=True, onerror=None, mlsd=None):
    """Like :func:`os.walk` on the server: yields ``(dirpath, dirnames,
    filenames)`` for ``top`` and every directory below it. Symbolic links
    (type ``"link"``) go into ``filenames`` and are never followed. With
    ``topdown=True`` the caller may prune ``dirnames`` in place.

    A directory the server refuses to list (4xx/5xx reply) is skipped, after
    calling ``onerror(exc)`` if given; connection failures propagate.
    """
    try:
        entries = self.scandir(top, mlsd=mlsd)
    except (error_perm, error_temp) as e:
        if onerror is not None:
            onerror(e)
        return
    dirnames, filenames = [], []
    for entry in entries:
        (dirnames if entry.type == "dir" else filenames).append(entry.name)
    if topdown:
        yield top, dirnames, filenames
    for name in dirnames:
        yield from walk(
            self, posixpath.join(top, name), topdown=topdown, onerror=onerror, mlsd=mlsd
        )
    if not topdown:
        yield top, dirnames, filenames


def install(cls):
    """Adds the listing methods to ``cls`` (FTP; FTP_TLS inherits them)."""
    cls.scandir = scandir
    cls.stat = stat
    cls.walk = walk
