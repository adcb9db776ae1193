"""The many small files of an fsspec ``get`` in batches: one Rust call per
batch (``_rftplib._fetch_files``) fetches each file of it on one pooled
session, PASV and RETR in one write, the data read straight into the local
file, with the GIL released for the whole batch. A file the batch could not
fetch is done again the plain way (``_get_one``: retries, and the builtin
error fsspec expects)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from . import FTP, all_errors
from ._fsspec_support import _NATIVE_MIN
from ._rftplib import _fetch_files, _FetchCancel

# Files per batch at most: few enough that the batches spread evenly over
# the sessions, enough that a batch's own cost (a pooled session taken and
# given back, a thread) is small beside its files'.
_BATCH = 64


def rust_fetches(fs, ftp, rpath):
    """Whether ``ftp`` (a pooled session) can fetch ``rpath`` in Rust
    (``_fetch_files``): plain FTP, a server that took
    PASV and RETR in one write so far, commands not watched by a subclass
    or debug output, and no newline in the path."""
    return (
        not fs.tls
        and fs._pipeline
        and fs._together
        and type(ftp).putcmd is FTP.putcmd
        and not ftp.debugging
        and "\r" not in rpath
        and "\n" not in rpath
    )


def batchable(fs, rpath, entry):
    """Whether ``rpath`` (listed as ``entry``) can go in a batch: a small
    plain file known from the listing, on a plain-FTP server that took
    PASV and RETR in one write so far."""
    return (
        entry is not None
        and entry["type"] == "file"
        and (entry.get("size") or 0) < _NATIVE_MIN
        and not fs.tls
        and fs._pipeline
        and fs._together
        and "\r" not in rpath
        and "\n" not in rpath
    )


def get_batched(fs, files):
    """Fetches ``files`` ((remote, local, entry) triples; local directories
    made) over up to ``fs.connections`` sessions at once. The first error
    raised stops the other batches (as a KeyboardInterrupt does)."""
    if not files:
        return
    workers = max(1, min(fs.connections, len(files)))
    size = max(1, min(_BATCH, -(-len(files) // (workers * 4))))
    batches = [files[i : i + size] for i in range(0, len(files), size)]
    cancel = _FetchCancel()
    if workers == 1:
        for batch in batches:
            _run_batch(fs, batch, cancel)
        return
    with ThreadPoolExecutor(workers) as pool:
        futures = [pool.submit(_run_batch, fs, batch, cancel) for batch in batches]
        try:
            for future in futures:
                future.result()
        except BaseException:
            cancel.cancel()
            for future in futures:
                future.cancel()
            raise


def _run_batch(fs, batch, cancel):
    left = batch
    while left:
        try:
            ftp = fs._pool.acquire()
        except all_errors:
            break  # the plain way below says why, or retries
        if not rust_fetches(fs, ftp, ""):
            fs._pool.release(ftp)
            break
        try:
            done, error, in_step, refused = _fetch_files(
                ftp, [(r, str(lp)) for r, lp, _ in left], cancel
            )
        except BaseException:
            fs._pool.discard(ftp)
            raise
        if refused:
            fs._together = False  # the plain way from now on
        if in_step:
            fs._pool.release(ftp)
        else:
            fs._pool.discard(ftp)
        if error is None:
            return
        r, lp, entry = left[done]
        fs._get_one(r, lp, entry, made=True)  # raises what fsspec expects
        left = left[done + 1 :]
    for r, lp, entry in left:
        fs._get_one(r, lp, entry, made=True)
