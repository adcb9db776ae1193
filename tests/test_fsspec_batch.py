"""rftplib.fsspec's ``get`` of many small files in batches: one Rust call
(``_rftplib._fetch_files``) per batch fetches each file on one pooled
session (PASV and RETR in one write, the data straight into the local file)
with the GIL released for the whole batch. A file a batch cannot fetch is
done again the plain way, which raises what fsspec expects."""

from __future__ import annotations

import os
import random
import signal
import threading
import uuid

import pytest
from fsspec_support import make_fs
from support import CONTENT, TIMEOUT, sha256


def _tree(fs, top):
    """~30 small files of random bytes (one empty) in two directories."""
    rng = random.Random(7)
    files = {}
    for i in range(30):
        rel = f"{'a' if i % 2 else 'b/c'}/f{i:02d}.bin"
        files[rel] = rng.randbytes(0 if i == 3 else rng.randrange(1, 70_000))
    fs.pipe({f"{top}/{rel}": data for rel, data in files.items()})
    return files


def _counting(monkeypatch):
    import rftplib._fsspec_batch as batch

    calls = []
    real = batch._fetch_files

    def counted(ftp, jobs, cancel=None):
        calls.append(len(jobs))
        return real(ftp, jobs, cancel)

    monkeypatch.setattr(batch, "_fetch_files", counted)
    return calls


@pytest.mark.parametrize("kind", ["vsftpd", "proftpd", "pureftpd", "pyftpdlib"])
def test_get_of_a_tree_in_batches_on_every_server(server_farm, kind, tmp_path, monkeypatch):
    srv = server_farm.get(kind)
    fs = make_fs(srv, connections=3)
    top = f"{srv.home.rstrip('/')}/batch-{uuid.uuid4().hex[:8]}"
    files = _tree(fs, top)
    fs.invalidate_cache()
    calls = _counting(monkeypatch)
    fs.get(top, str(tmp_path / "out"), recursive=True)
    for rel, data in files.items():
        assert sha256((tmp_path / "out" / rel).read_bytes()) == sha256(data), rel
    assert sum(calls) == len(files) and len(calls) > 1  # all batched, over several calls
    # The sessions were given back in step.
    assert fs.cat_file(f"{top}/a/f01.bin") == files["a/f01.bin"]
    fs.rm(top, recursive=True)
    fs.close()


def test_a_file_gone_mid_tree_raises_file_not_found(server_farm, tmp_path):
    srv = server_farm.get("vsftpd")
    fs = make_fs(srv, connections=2)
    top = f"{srv.home.rstrip('/')}/batch-{uuid.uuid4().hex[:8]}"
    files = _tree(fs, top)
    fs.invalidate_cache()
    fs.find(top)  # listed now, as get() lists ...
    other = make_fs(srv, connections=1)
    other.rm_file(f"{top}/a/f15.bin")  # ... and then it is gone
    other.close()
    with pytest.raises(FileNotFoundError):
        fs.get(top, str(tmp_path / "out"), recursive=True)
    # The refused RETR left the sessions usable.
    assert fs.cat_file(f"{top}/a/f01.bin") == files["a/f01.bin"]
    fs.rm(top, recursive=True)
    fs.close()


def test_a_local_file_that_cannot_be_made_keeps_the_session_in_step(server_farm, tmp_path):
    from rftplib import FTP
    from rftplib._rftplib import _fetch_files

    srv = server_farm.get("pyftpdlib")
    home = srv.home.rstrip("/")
    with FTP() as ftp:
        ftp.connect(srv.host, srv.port, timeout=TIMEOUT)
        ftp.login(srv.user, srv.password)
        ftp.voidcmd("TYPE I")
        jobs = [
            (f"{home}/small.bin", str(tmp_path / "one.bin")),
            (f"{home}/small.bin", str(tmp_path / "no-such-dir" / "two.bin")),
            (f"{home}/small.bin", str(tmp_path / "three.bin")),
        ]
        done, error, in_step, _ = _fetch_files(ftp, jobs)
        assert (done, in_step) == (1, True)
        assert isinstance(error, FileNotFoundError)
        assert (tmp_path / "one.bin").read_bytes() == CONTENT["small.bin"]
        assert not (tmp_path / "three.bin").exists()
        # A refused RETR: the session stays in step too.
        done, error, in_step, _ = _fetch_files(ftp, [(f"{home}/nope.bin", str(tmp_path / "x"))])
        assert (done, in_step) == (0, True) and str(error).startswith("550")
        assert not (tmp_path / "x").exists()
        assert ftp.voidcmd("NOOP").startswith("200")


def test_a_cancelled_batch_fetches_nothing(server_farm, tmp_path):
    import rftplib
    from rftplib import FTP
    from rftplib._rftplib import _fetch_files, _FetchCancel

    srv = server_farm.get("pyftpdlib")
    with FTP() as ftp:
        ftp.connect(srv.host, srv.port, timeout=TIMEOUT)
        ftp.login(srv.user, srv.password)
        cancel = _FetchCancel()
        cancel.cancel()
        done, error, _, _ = _fetch_files(
            ftp, [(f"{srv.home.rstrip('/')}/small.bin", str(tmp_path / "x"))], cancel
        )
        assert done == 0 and isinstance(error, rftplib.Error)
        assert not (tmp_path / "x").exists()


def test_ctrl_c_stops_a_stalled_batch(tmp_path):
    from faultserver import Accept, DataSend, FaultServer, Pasv, Sleep
    from rftplib import FTP
    from rftplib._rftplib import _fetch_files

    script = [
        (None, ["220 hello"]),
        ("USER", ["331 password please"]),
        ("PASS", ["230 in"]),
        ("PASV", [Pasv()]),
        ("RETR /f", ["150 here", Accept(), DataSend(b"abc"), Sleep(5)]),
    ]
    with FaultServer(script) as srv:
        ftp = FTP()
        ftp.connect(srv.host, srv.port, timeout=30)
        ftp.login("u", "p")
        timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
        timer.start()
        try:
            with pytest.raises(KeyboardInterrupt):
                _fetch_files(ftp, [("/f", str(tmp_path / "f"))])
        finally:
            timer.cancel()
            ftp.close()
