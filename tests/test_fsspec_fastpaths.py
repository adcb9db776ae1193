"""rftplib.fsspec's fast paths, against real servers (and the scripted one
for faults they will not produce).

The pool sizes itself to the threads that call it: without ``connections``,
an instance starts with 4 sessions and opens one more whenever a caller finds
them all busy (up to 16), as Dask's threaded scheduler expects of one
filesystem shared by its threads; a server's per-client limit (vsftpd's
``max_per_ip``, refused with 421) brings it back down. With
``connections=N`` the pool never exceeds N.

Plain data connections block with the timeout in the kernel, and read a
block (or a whole file of announced size) in one recv(MSG_WAITALL). cat_file
and get send PASV, REST and RETR in one write, on every server tested.
"""

from __future__ import annotations

import socket
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from fsspec_support import base, make_fs
from support import CONTENT, sha256

BIG = CONTENT["big.bin"]


def open_files_at_once(fs, path, n):
    """``n`` threads each read a file object part way, all holding it open at
    one moment, then read on: the sha256 of what each read."""
    barrier = threading.Barrier(n)

    def one(k):
        start = k * 100_000
        with fs.open(path, "rb", block_size=4096) as f:
            f.seek(start)
            head = f.read(10)
            barrier.wait(30)  # every file open and streaming, at once
            rest = f.read(5000)
        return sha256(head + rest) == sha256(BIG[start : start + 5010])

    with ThreadPoolExecutor(n) as ex:
        return list(ex.map(one, range(n)))


@pytest.fixture
def vsftpd(root):
    from vsftpd import Vsftpd

    with Vsftpd(root) as srv:
        yield srv


def test_default_pool_grows_to_its_callers(vsftpd):
    fs = make_fs(vsftpd)
    assert (fs.connections, fs.max_connections) == (4, 16)
    assert open_files_at_once(fs, base(vsftpd) + "/big.bin", 8) == [True] * 8
    # Eight files streaming at once held eight sessions: none was cut to
    # serve another caller.
    assert fs._pool.live == 8 and fs._pool.cap == 8
    fs.close()
    assert vsftpd.wait_idle()


def test_a_given_number_of_connections_is_a_hard_cap(vsftpd):
    fs = make_fs(vsftpd, connections=3)
    assert (fs.connections, fs.max_connections) == (3, 3)
    assert open_files_at_once(fs, base(vsftpd) + "/big.bin", 8) == [True] * 8
    assert fs._pool.live <= 3 and fs._pool.cap == 3
    fs.close()


def test_growth_stops_at_the_servers_limit_and_shrinks_on_421(root):
    from vsftpd import Vsftpd

    names = [f"f{i:02d}.bin" for i in range(16)]
    blobs = {n: bytes([i]) * (50_000 + i) for i, n in enumerate(names)}
    for n, data in blobs.items():
        (root / n).write_bytes(data)
    with Vsftpd(root, config={"max_per_ip": 5}) as srv:
        assert srv.wait_idle()  # the start-up probe's session counts until it ends
        fs = make_fs(srv)  # would grow to 16
        b = base(srv)
        barrier = threading.Barrier(16)

        def fetch(name):
            barrier.wait(30)  # all 16 ask at once: the pool tries to grow
            return sha256(fs.cat_file(f"{b}/{name}"))

        with ThreadPoolExecutor(16) as ex:
            got = list(ex.map(fetch, names))
        assert got == [sha256(blobs[n]) for n in names]
        # It grew past its 4 to the server's 5, was refused a 6th (421) and
        # settled there, without failing any caller.
        assert fs._pool.cap == 5 and fs._pool.live <= 5
        assert fs._pool.max_cap == 5
        fs.close()
        assert srv.wait_idle()


# -- plain data connections: blocking, with the timeout in the kernel ----------------


def stalled_retr_script():
    from faultserver import Accept, DataSend, Pasv, Sleep

    return [
        (None, ["220 hello"]),
        ("USER", ["331 password please"]),
        ("PASS", ["230 in"]),
        ("TYPE I", ["200 binary"]),
        ("PASV", [Pasv()]),
        # 3 bytes of 100, then nothing: the data connection stalls.
        ("RETR /f", ["150 here (100 bytes)", Accept(), DataSend(b"abc"), Sleep(3)]),
    ]


def test_a_stalled_data_connection_times_out():
    from faultserver import FaultServer
    from rftplib.fsspec import FTPFileSystem

    with FaultServer(stalled_retr_script()) as srv:
        fs = FTPFileSystem(
            srv.host,
            srv.port,
            "u",
            "p",
            timeout=0.3,
            retries=0,
            connections=1,
            skip_instance_cache=True,
        )
        with pytest.raises(socket.timeout):
            # A range: one recv(100, MSG_WAITALL) on a blocking socket whose
            # timeout is the kernel's; it must end, not wait for ever, and
            # end as a socket timed by Python does.
            fs.cat_file("/f", 0, 100)
        fs.close()


@pytest.mark.parametrize("announced", [0, 10, 20, 21, 10_000])
def test_whole_file_read_trusts_the_data_not_the_announced_size(announced):
    # cat_file reads the size a 150 reply announces in one recv: a file
    # that grew or shrank since (or a server that miscounts) still gives
    # exactly the bytes sent.
    from faultserver import Accept, DataClose, DataSend, FaultServer, Pasv
    from rftplib.fsspec import FTPFileSystem

    body = bytes(range(20))
    script = [
        (None, ["220 hello"]),
        ("USER", ["331 password please"]),
        ("PASS", ["230 in"]),
        ("TYPE I", ["200 binary"]),
        ("PASV", [Pasv()]),
        (
            "RETR /f",
            [
                f"150 Opening BINARY mode data connection for /f ({announced} bytes).",
                Accept(),
                DataSend(body[:7]),
                DataSend(body[7:]),
                DataClose(),
                "226 Transfer complete.",
            ],
        ),
    ]
    with FaultServer(script) as srv:
        fs = FTPFileSystem(
            srv.host,
            srv.port,
            "u",
            "p",
            timeout=10,
            connections=1,
            skip_instance_cache=True,
        )
        assert fs.cat_file("/f") == body
        fs.close()


# -- PASV + REST + RETR in one write ------------------------------------------------


@pytest.mark.parametrize("kind", ["vsftpd", "proftpd", "pureftpd", "pyftpdlib"])
def test_pasv_rest_retr_in_one_write_on_every_server(
    server_farm, kind, tmp_path, monkeypatch
):
    import rftplib._fsspec_io as io

    sent = []

    def counted(ftp, path, rest):
        sent.append((path, rest))
        return together(ftp, path, rest)

    together = io._pasv_together
    monkeypatch.setattr(io, "_pasv_together", counted)
    srv = server_farm.get(kind)
    fs = make_fs(srv, connections=2)
    home = srv.home.rstrip("/")
    assert sha256(fs.cat_file(f"{home}/big.bin")) == sha256(BIG)
    assert fs.cat_file(f"{home}/big.bin", 123_456, 200_000) == BIG[123_456:200_000]
    got = fs.cat([f"{home}/small.bin", f"{home}/sub/inner.bin", f"{home}/empty.bin"])
    assert got == {
        f"{home}/small.bin": CONTENT["small.bin"],
        f"{home}/sub/inner.bin": CONTENT["sub/inner.bin"],
        f"{home}/empty.bin": b"",
    }
    fs.get(f"{home}/sub", str(tmp_path / "sub"), recursive=True)
    assert (tmp_path / "sub" / "inner.bin").read_bytes() == CONTENT["sub/inner.bin"]
    with pytest.raises(FileNotFoundError):
        fs.cat_file(f"{home}/no-such-file.bin")
    # A missing file's refused RETR left the sessions in step.
    assert fs.cat_file(f"{home}/small.bin", 5, 50) == CONTENT["small.bin"][5:50]
    assert fs._together  # no server refused it
    # get()'s files go the same way in Rust (test_fsspec_batch.py).
    assert (f"{home}/big.bin", 123_456) in sent and len(sent) >= 6
    fs.close()


def test_a_refused_pasv_in_one_write_falls_back_to_the_plain_way():
    from faultserver import Accept, DataClose, DataSend, FaultServer, Pasv
    from rftplib.fsspec import FTPFileSystem

    script = [
        (None, ["220 hello"]),
        ("USER", ["331 password please"]),
        ("PASS", ["230 in"]),
        ("TYPE I", ["200 binary"]),
        ("PASV", ["500 PASV not now."]),  # ... nor the RETR sent with it
        ("RETR /f", ["425 Use PORT or PASV first."]),
        ("PASV", [Pasv()]),
        ("RETR /f", ["150 here", Accept(), DataSend(b"abc"), DataClose(), "226 ok"]),
        ("PASV", [Pasv()]),
        ("RETR /f", ["150 here", Accept(), DataSend(b"abc"), DataClose(), "226 ok"]),
    ]
    with FaultServer(script) as srv:
        fs = FTPFileSystem(
            srv.host,
            srv.port,
            "u",
            "p",
            timeout=10,
            connections=1,
            skip_instance_cache=True,
        )
        assert fs.cat_file("/f") == b"abc"
        assert not fs._together
        assert fs.cat_file("/f") == b"abc"  # the plain way
        fs.close()
