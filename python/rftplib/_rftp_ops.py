"""The whole-file operations ``rftp`` runs: download, upload, listing, walk, mirror.

Each calls the FTP method of the same purpose (``download``, ``upload``,
``scandir``, ``walk``, ``mirror``) when the class has it, and otherwise a
plain version built on ftplib's API, so the command works on its own.
``progress`` here is a callable ``progress(name, done, total)``.
"""

from __future__ import annotations

import fnmatch
import os
import posixpath
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

from . import error_perm

__all__ = ["download", "list_dir", "mirror", "stat", "upload", "walk"]


class _Pacer:
    """Sleeps so that ``rate`` bytes per second is not exceeded (None: no limit)."""

    def __init__(self, rate):
        self.rate = rate
        self.start = time.monotonic()
        self.sent = 0

    def __call__(self, n):
        if not self.rate:
            return
        self.sent += n
        ahead = self.start + self.sent / self.rate - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)


def _remote_size(ftp, path):
    """SIZE in binary mode; None when the server has no SIZE. A 550 is raised."""
    try:
        return ftp.size(path)
    except error_perm as e:
        if str(e).startswith("550"):
            raise
        return None


def download(ftp, remote, local, *, resume=True, rate_limit=None, progress=None, **_):
    """Fetch ``remote`` into ``local`` through ``local + '.part'``; bytes written."""
    ftp.voidcmd("TYPE I")
    size = _remote_size(ftp, remote)
    part = local + ".part"
    offset = os.path.getsize(part) if resume and os.path.exists(part) else 0
    if size is not None and offset > size:
        offset = 0
    pace = _Pacer(rate_limit)
    done = offset
    with open(part, "ab" if offset else "wb") as f:

        def write(block):
            nonlocal done
            f.write(block)
            done += len(block)
            if progress:
                progress(remote, done, size)
            pace(len(block))

        if progress:
            progress(remote, done, size)
        if size is None or offset < size or size == 0:
            ftp.retrbinary("RETR " + remote, write, rest=offset or None)
    os.replace(part, local)
    return done - offset


def upload(ftp, local, remote, *, resume=False, rate_limit=None, progress=None, **_):
    """Send ``local`` to ``remote`` (appending the rest with ``resume``); bytes sent."""
    size = os.path.getsize(local)
    ftp.voidcmd("TYPE I")
    offset = 0
    if resume:
        try:
            offset = ftp.size(remote) or 0
        except error_perm:
            offset = 0
        if offset > size:
            offset = 0
    pace = _Pacer(rate_limit)
    done = offset
    with open(local, "rb") as f:
        f.seek(offset)

        def sent(block):
            nonlocal done
            done += len(block)
            if progress:
                progress(remote, done, size)
            pace(len(block))

        if progress:
            progress(remote, done, size)
        if offset and offset == size:
            return 0
        cmd = ("APPE " if offset else "STOR ") + remote
        ftp.storbinary(cmd, f, callback=sent)
    return done - offset


@dataclass
class Item:
    """A directory entry as rftp prints it (the fields of rftplib.Entry)."""

    name: str
    path: str
    type: str = "other"
    size: int | None = None
    modified: datetime | None = None
    permissions: str | None = None
    owner: str | None = None
    group: str | None = None
    target: str | None = None
    facts: dict = field(default_factory=dict)
    raw: str | None = None


def _item_from_mlsd(parent, name, facts):
    kind = facts.get("type", "").lower()
    kind = {"file": "file", "dir": "dir", "os.unix=symlink": "link"}.get(kind, "other")
    modified = None
    if "modify" in facts:
        try:
            stamp = facts["modify"].split(".")[0]
            modified = datetime.strptime(stamp, "%Y%m%d%H%M%S").replace(
                tzinfo=timezone.utc
            )
        except ValueError:
            pass
    size = facts.get("size")
    return Item(
        name=name,
        path=posixpath.join(parent, name) if parent else name,
        type=kind,
        size=int(size) if size and size.isdigit() else None,
        modified=modified,
        permissions=facts.get("unix.mode") or facts.get("perm"),
        owner=facts.get("unix.owner") or facts.get("unix.uid"),
        group=facts.get("unix.group") or facts.get("unix.gid"),
        facts=dict(facts),
    )


def list_dir(ftp, path):
    """The entries of the remote directory ``path`` (without . and ..)."""
    if hasattr(ftp, "scandir"):
        return list(ftp.scandir(path))
    items = []
    for name, facts in ftp.mlsd(path):
        if facts.get("type", "").lower() in ("cdir", "pdir") or name in (".", ".."):
            continue
        items.append(_item_from_mlsd(path, name, facts))
    return items


def stat(ftp, path):
    """One entry for ``path``."""
    if hasattr(ftp, "stat"):
        return ftp.stat(path)
    parent, name = posixpath.split(path.rstrip("/"))
    for item in list_dir(ftp, parent):
        if item.name == name:
            return item
    raise error_perm(f"550 {path}: no such file or directory")


def walk(ftp, top="", *, topdown=True):
    """(dirpath, dirnames, filenames) as os.walk; symlinks not followed."""
    if hasattr(ftp, "walk"):
        yield from ftp.walk(top, topdown=topdown)
        return
    items = list_dir(ftp, top)
    dirs = [i.name for i in items if i.type == "dir"]
    files = [i.name for i in items if i.type != "dir"]
    if topdown:
        yield top, dirs, files
    for d in dirs:
        yield from walk(ftp, posixpath.join(top, d) if top else d, topdown=topdown)
    if not topdown:
        yield top, dirs, files


@dataclass
class MirrorOutcome:
    transferred: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    deleted: list = field(default_factory=list)
    failed: list = field(default_factory=list)
    bytes: int = 0
    seconds: float = 0.0


def _wanted(rel, include, exclude):
    if include and not any(fnmatch.fnmatch(rel, p) for p in include):
        return False
    return not (exclude and any(fnmatch.fnmatch(rel, p) for p in exclude))


def mirror(ftp, source, target, *, upload=False, delete=False, include=None,
           exclude=None, dry_run=False, progress=None, fail_fast=False, overall=None,
           **kwargs):
    """A copy of the tree ``source`` into ``target`` (see FTP.mirror).

    ``overall(bytes_done, bytes_total, files_done, files_total)`` follows the
    whole mirror."""
    if hasattr(ftp, "mirror"):
        return ftp.mirror(source, target, upload=upload, delete=delete,
                          include=include, exclude=exclude, dry_run=dry_run,
                          progress=progress, fail_fast=fail_fast, **kwargs)
    started = time.monotonic()
    out = MirrorOutcome()
    rjoin = posixpath.join

    def remote_path(rel):
        base = source if not upload else target
        return rjoin(base, rel) if base else rel

    remote_files, remote_dirs = {}, set()
    base = target if upload else source
    try:
        for dirpath, _, _ in walk(ftp, base):
            rel_dir = posixpath.relpath(dirpath, base) if base else dirpath
            rel_dir = "" if rel_dir == "." else rel_dir
            for item in list_dir(ftp, dirpath):
                rel = rjoin(rel_dir, item.name) if rel_dir else item.name
                if item.type == "dir":
                    remote_dirs.add(rel)
                else:
                    remote_files[rel] = item.size
    except error_perm:
        if not upload:
            raise
        if not dry_run:
            ftp.mkd(target)
    local_base = source if upload else target
    local_files, local_dirs = {}, set()
    for dirpath, dirnames, filenames in os.walk(local_base):
        rel_dir = os.path.relpath(dirpath, local_base)
        rel_dir = "" if rel_dir == "." else rel_dir.replace(os.sep, "/")
        for d in dirnames:
            local_dirs.add(rjoin(rel_dir, d) if rel_dir else d)
        for f in filenames:
            rel = rjoin(rel_dir, f) if rel_dir else f
            local_files[rel] = os.path.getsize(os.path.join(dirpath, f))
    src_files, dst_files = (local_files, remote_files) if upload else (remote_files, local_files)
    src_dirs, dst_dirs = (local_dirs, remote_dirs) if upload else (remote_dirs, local_dirs)
    if not dry_run and not upload:
        os.makedirs(target, exist_ok=True)
    for rel in sorted(src_dirs - dst_dirs):
        if dry_run:
            continue
        if upload:
            ftp.mkd(remote_path(rel))
        else:
            os.makedirs(os.path.join(target, rel), exist_ok=True)
    todo = []
    for rel in sorted(src_files):
        if not _wanted(rel, include, exclude):
            continue
        if dst_files.get(rel) == src_files[rel]:
            out.skipped.append(rel)
        else:
            todo.append(rel)
    if dry_run:
        out.transferred = todo
        todo = []
    total = sum(src_files[rel] or 0 for rel in todo)
    if overall:
        overall(0, total, 0, len(todo))
    for count, rel in enumerate(todo, 1):
        try:
            if upload:
                n = globals()["upload"](ftp, os.path.join(source, rel), remote_path(rel),
                                        progress=progress, **kwargs)
            else:
                n = download(ftp, remote_path(rel), os.path.join(target, rel),
                             resume=True, progress=progress, **kwargs)
        except error_perm as e:
            if fail_fast:
                raise
            out.failed.append((rel, str(e)))
        else:
            out.transferred.append(rel)
            out.bytes += n
        if overall:
            overall(out.bytes, total, count, len(todo))
    if delete:
        for rel in sorted(set(dst_files) - set(src_files), reverse=True):
            if not _wanted(rel, include, exclude):
                continue
            if not dry_run:
                if upload:
                    ftp.delete(remote_path(rel))
                else:
                    os.remove(os.path.join(target, rel))
            out.deleted.append(rel)
        for rel in sorted(dst_dirs - src_dirs, reverse=True):
            if not dry_run:
                if upload:
                    ftp.rmd(remote_path(rel))
                else:
                    os.rmdir(os.path.join(target, rel))
            out.deleted.append(rel + "/")
    out.seconds = time.monotonic() - started
    return out
