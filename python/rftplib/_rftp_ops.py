"""``rftp mirror``: FTP.mirror when the class has it, else a sequential copy
built on scandir, download and upload.

``progress(path, bytes_done, bytes_total, files_done, files_total)`` follows
the whole mirror, as FTP.mirror's does.
"""

from __future__ import annotations

import fnmatch
import os
import posixpath
import time
from dataclasses import dataclass, field

from . import Error, error_perm

__all__ = ["mirror"]


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
           exclude=None, dry_run=False, progress=None, fail_fast=False, **kwargs):
    """A copy of the tree ``source`` into ``target`` (see FTP.mirror)."""
    if hasattr(ftp, "mirror"):
        return ftp.mirror(source, target, upload=upload, delete=delete,
                          include=include, exclude=exclude, dry_run=dry_run,
                          progress=progress, fail_fast=fail_fast, **kwargs)
    kwargs.pop("connections", None)  # one session here
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
    if progress:
        progress("", 0, total, 0, len(todo))
    def each(rel, count):
        if progress is None:
            return None
        return lambda done, _: progress(rel, out.bytes + done, total, count - 1, len(todo))

    for count, rel in enumerate(todo, 1):
        try:
            if upload:
                n = ftp.upload(os.path.join(source, rel), remote_path(rel),
                               progress=each(rel, count), **kwargs).bytes
            else:
                n = ftp.download(remote_path(rel), os.path.join(target, rel),
                                 progress=each(rel, count), **kwargs).bytes
        except Error as e:
            if fail_fast:
                raise
            out.failed.append((rel, str(e)))
        else:
            out.transferred.append(rel)
            out.bytes += n
        if progress:
            progress(rel, out.bytes, total, count, len(todo))
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
