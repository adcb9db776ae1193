"""Hide a password from ``ps``: overwrite it where the kernel shows this
process's command line and environment from (Linux only).

``/proc/PID/cmdline`` and ``/proc/PID/environ`` (what ``ps`` and ``ps e``
print) are read from the memory that held ``argv`` and ``environ`` when the
process started; Python works from copies made at startup, so that memory
can be overwritten in place, as setproctitle does. The kernel gives its
bounds in /proc/self/stat. Until this runs (the first ~0.1 s) the password is
visible, which is why RFTP_PASSWORD, ~/.netrc and the prompt are preferred.
"""

from __future__ import annotations

import ctypes
import os
import sys

__all__ = ["hide_env_var", "hide_url_password"]


def _blocks():
    """(argv, environ) blocks as (start address, bytes), or None if unknown."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        with open("/proc/self/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        # fields[0] is field 3 (state); arg_start..env_end are fields 48..51.
        arg_start, arg_end, env_start, env_end = (int(x) for x in fields[45:49])
        with open("/proc/self/cmdline", "rb") as f:
            cmdline = f.read()
    except (OSError, ValueError, IndexError):
        return None
    if not (0 < arg_start < arg_end and 0 < env_start < env_end):
        return None
    argv = ctypes.string_at(arg_start, arg_end - arg_start)
    if argv != cmdline:
        return None  # not the memory we think it is: leave it alone
    return (arg_start, argv), (
        env_start,
        ctypes.string_at(env_start, env_end - env_start),
    )


def _star(address, length):
    ctypes.memset(address, ord("*"), length)


def hide_url_password(raw):
    """Overwrite ``:raw@`` (a URL's password, as typed) in the command line."""
    blocks = _blocks()
    if not raw or blocks is None:
        return 0
    (start, argv), _ = blocks
    needle = b":" + os.fsencode(raw) + b"@"
    count, at = 0, argv.find(needle)
    while at != -1:
        _star(start + at + 1, len(needle) - 2)
        count += 1
        at = argv.find(needle, at + len(needle))
    return count


def hide_env_var(name):
    """Overwrite the value of the environment variable ``name`` as started with."""
    blocks = _blocks()
    if blocks is None:
        return 0
    _, (start, env) = blocks
    key = os.fsencode(name) + b"="
    count, at = 0, 0
    for entry in env.split(b"\0"):
        if entry.startswith(key) and len(entry) > len(key):
            _star(start + at + len(key), len(entry) - len(key))
            count += 1
        at += len(entry) + 1
    return count
