"""The whole-file operations ``rftp`` runs: download, upload, mirror.

Each calls the FTP method of the same purpose (``download``, ``upload``,
``mirror``) when the class has it, and otherwise a
plain version built on ftplib's API, so the command works on its own.
``progress`` here is a callable ``progress(name, done, total)``.
"""

from __future__ import annotations

import fnmatch
import os
import posixpath
import time
from dataclasses import dataclass, field

from . import error_perm

__all__ = ["download", "mirror", "upload"]


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


def _remote_tree(ftp, top, rel_dir, files, dirs):
    """Fill ``files`` {relative path: size} and ``dirs`` below ``top``."""
    here = posixpath.join(top, rel_dir) if top else rel_dir
    for entry in ftp.scandir(here):
        rel = posixpath.join(rel_dir, entry.name) if rel_dir else entry.name
        if entry.type == "dir":
            dirs.add(rel)
            _remote_tree(ftp, top, rel, files, dirs)
        elif entry.type == "file":
            files[rel] = entry.size


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
        _remote_tree(ftp, base, "", remote_files, remote_dirs)
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
