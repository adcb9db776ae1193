"""rftplib.fsspec: the rftp:// filesystem against real servers.

pyftpdlib (MLSD listings, in this process) and vsftpd (LIST only, its own
processes, FTPS with require_ssl_reuse=YES, a per-client session limit).
"""

from __future__ import annotations

import datetime
import gc
import os
import pickle
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import fsspec
import pytest
import rftplib
import rftplib._fsspec_support
import rftplib.fsspec as rfs
from fsspec_support import base, make_fs, url
from rftplib.fsspec import FTPFileSystem, FTPSFileSystem
from support import CONTENT, NON_ASCII_NAME, sha256

BIG = CONTENT["big.bin"]


@pytest.fixture(params=["pyftpdlib", "vsftpd"])
def srv(request, root):
    """Each server in turn, serving this test's ``root``."""
    if request.param == "pyftpdlib":
        yield request.getfixturevalue("ftpd")
    else:
        from vsftpd import Vsftpd

        with Vsftpd(root) as server:
            yield server


@pytest.fixture
def fs(srv):
    filesystem = make_fs(srv)
    yield filesystem
    filesystem.close()


class CountingFTP(rftplib.FTP):
    """Records every data command: how many RETRs a read costs."""

    commands: list = []  # noqa: RUF012 (reset by the fixture)

    def putcmd(self, line):
        # Every command goes through here, transfercmd's too.
        verb, _, arg = line.partition(" ")
        if verb == "REST":
            self._rest = int(arg)
        elif verb in ("RETR", "STOR", "APPE", "LIST", "MLSD", "NOOP"):
            CountingFTP.commands.append((verb, getattr(self, "_rest", None) or None))
            self._rest = None
        super().putcmd(line)

    def download(self, remote, *args, **kwargs):
        CountingFTP.commands.append(("download", remote))
        return super().download(remote, *args, **kwargs)

    def upload(self, local, remote=None, **kwargs):
        CountingFTP.commands.append(("upload", remote))
        return super().upload(local, remote, **kwargs)


@pytest.fixture
def counted(monkeypatch):
    CountingFTP.commands = []
    monkeypatch.setattr(rftplib._fsspec_support, "FTP", CountingFTP)
    return CountingFTP.commands


# -- registration, import, pickling ---------------------------------------------------


def test_import_rftplib_needs_no_fsspec():
    code = (
        "import sys, rftplib; print('fsspec' in sys.modules, 'pandas' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["False", "False"]


def test_entry_point_opens_url_and_pickle_reconnects_in_a_new_process(ftpd):
    # A new process: fsspec finds rftp:// through the entry point alone, and
    # an unpickled filesystem (sessions open in this process) reconnects.
    fs = make_fs(ftpd)
    assert fs.cat_file("/small.bin") == CONTENT["small.bin"]
    assert fs._pool.live == 1
    blob = pickle.dumps(fs)
    code = (
        "import sys, pickle, hashlib, fsspec\n"
        "with fsspec.open(sys.argv[1], 'rb') as f: a = f.read()\n"
        "assert 'rftplib.fsspec' in sys.modules\n"
        "fs = pickle.loads(sys.stdin.buffer.read())\n"
        "b = fs.cat_file('/medium.bin')\n"
        "print(type(fs).__name__, hashlib.sha256(a).hexdigest(), hashlib.sha256(b).hexdigest())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, url(ftpd, "text.txt")],
        input=blob,
        capture_output=True,
        check=True,
        timeout=60,
    )
    assert out.stdout.decode().split() == [
        "FTPFileSystem",
        sha256(CONTENT["text.txt"]),
        sha256(CONTENT["medium.bin"]),
    ]
    fs.close()


def test_pickle_round_trip_keeps_parameters(ftpd):
    fs = make_fs(ftpd, connections=3, retries=1, block_size=12345)
    fs.ls("/")
    copy = pickle.loads(pickle.dumps(fs))
    assert (copy.host, copy.port, copy.connections, copy.retries, copy.blocksize) == (
        ftpd.host,
        ftpd.port,
        3,
        1,
        12345,
    )
    assert copy.cat_file("/sub/inner.bin") == CONTENT["sub/inner.bin"]
    fs.close()
    copy.close()


def test_url_kwargs_and_protocols():
    kw = FTPFileSystem._get_kwargs_from_urls(
        "rftp://us%40er:p%3Ass@example.org:2121/a/b"
    )
    assert kw == {
        "host": "example.org",
        "port": 2121,
        "username": "us@er",
        "password": "p:ss",
    }
    assert FTPFileSystem._strip_protocol("rftp://u:p@h:21/a/b/") == "/a/b"
    assert fsspec.get_filesystem_class("rftp") is FTPFileSystem
    assert fsspec.get_filesystem_class("rftps") is FTPSFileSystem


def test_register_ftp_serves_ftp_urls(ftpd):
    original = fsspec.get_filesystem_class("ftp")
    try:
        rfs.register(ftp=True)
        assert fsspec.get_filesystem_class("ftp") is FTPFileSystem
        assert fsspec.get_filesystem_class("ftps") is FTPSFileSystem
        with fsspec.open(url(ftpd, "medium.bin", scheme="ftp"), "rb") as f:
            assert isinstance(f.fs, FTPFileSystem)
            assert sha256(f.read()) == sha256(CONTENT["medium.bin"])
            f.fs.close()
    finally:
        fsspec.register_implementation("ftp", original, clobber=True)
    assert fsspec.get_filesystem_class("ftp") is original


# -- listings -----------------------------------------------------------------------------


def test_ls_detail(fs, srv):
    b = base(srv)
    entries = {e["name"]: e for e in fs.ls(b + "/")}
    want = [f"{b}/{n}" for n in CONTENT if "/" not in n] + [f"{b}/sub"]
    assert sorted(entries) == sorted(want)
    assert entries[f"{b}/big.bin"]["size"] == len(BIG)
    assert entries[f"{b}/big.bin"]["type"] == "file"
    assert entries[f"{b}/sub"]["type"] == "directory"
    assert entries[f"{b}/{NON_ASCII_NAME}"]["size"] == 4096
    modified = entries[f"{b}/small.bin"]["modified"]
    assert isinstance(modified, datetime.datetime) and modified.tzinfo is not None
    assert fs.ls(b + "/sub", detail=False) == [f"{b}/sub/deeper", f"{b}/sub/inner.bin"]
    assert fs.ls(b + "/sub/deeper") == []
    # ls of a file is that file, as fsspec expects.
    assert [e["name"] for e in fs.ls(b + "/small.bin")] == [f"{b}/small.bin"]
    with pytest.raises(FileNotFoundError):
        fs.ls(b + "/no-such-dir")


def test_info_exists_find_glob_walk(fs, srv):
    b = base(srv)
    assert fs.info(b + "/medium.bin")["size"] == len(CONTENT["medium.bin"])
    assert fs.info(b + "/sub")["type"] == "directory"
    assert fs.info("/")["type"] == "directory"
    assert fs.isdir(b + "/sub") and not fs.isfile(b + "/sub")
    assert fs.isfile(b + "/sub/inner.bin")
    assert fs.exists(b + "/text.txt") and not fs.exists(b + "/nope.txt")
    with pytest.raises(FileNotFoundError):
        fs.info(b + "/nope/deeper.txt")
    assert fs.find(b + "/sub") == [f"{b}/sub/inner.bin"]
    assert fs.find(b + "/sub", withdirs=True) == [
        f"{b}/sub",
        f"{b}/sub/deeper",
        f"{b}/sub/inner.bin",
    ]
    assert sorted(fs.glob(b + "/*.bin")) == sorted(
        f"{b}/{n}" for n in CONTENT if n.endswith(".bin") and "/" not in n
    )
    walked = {d: (sorted(ds), sorted(fs_)) for d, ds, fs_ in fs.walk(b + "/sub")}
    assert walked == {
        f"{b}/sub": (["deeper"], ["inner.bin"]),
        f"{b}/sub/deeper": ([], []),
    }
    assert fs.size(b + "/big.bin") == len(BIG)
    assert fs.modified(b + "/big.bin") == fs.info(b + "/big.bin")["modified"]


def test_info_asks_mlst_instead_of_listing_the_parent(srv, counted):
    fs = make_fs(srv)
    b = base(srv)
    info = fs.info(b + "/sub/inner.bin")
    assert (info["name"], info["size"], info["type"]) == (
        b + "/sub/inner.bin",
        2000,
        "file",
    )
    assert fs.info(b + "/sub")["type"] == "directory"
    # pyftpdlib offers MLST: no listing; vsftpd does not: its parent's LIST
    listings = [c[0] for c in counted]
    with pytest.raises(FileNotFoundError):
        fs.info(b + "/sub/missing.bin")
    if "Pyftpdlib" in type(srv).__name__:
        assert "MLSD" not in listings and "LIST" not in listings
    else:
        assert "LIST" in listings
    fs.close()


# -- reads ----------------------------------------------------------------------------------


def test_cat_file_whole_and_ranges(fs, srv):
    b = base(srv)
    assert sha256(fs.cat_file(b + "/big.bin")) == sha256(BIG)
    assert fs.cat_file(b + "/empty.bin") == b""
    assert fs.cat_file(b + "/big.bin", 1000, 70_000) == BIG[1000:70_000]
    assert fs.cat_file(b + "/big.bin", len(BIG) - 10) == BIG[-10:]
    assert fs.cat_file(b + "/big.bin", -5000) == BIG[-5000:]
    assert fs.cat_file(b + "/big.bin", 10, -10) == BIG[10:-10]
    assert fs.cat_file(b + "/big.bin", 7, 7) == b""
    assert fs.cat_file(b + "/small.bin", 500, 10**9) == CONTENT["small.bin"][500:]
    assert fs.cat_file(b + "/small.bin", 5000) == b""  # past the end
    assert fs.cat_file(b + "/small.bin", 5000, 6000) == b""
    assert (
        fs.cat_file(b + "/small.bin") == CONTENT["small.bin"]
    )  # the session is in step
    assert fs.cat(b + "/text.txt") == CONTENT["text.txt"]
    many = fs.cat([b + "/small.bin", b + "/sub/inner.bin"])
    assert many == {
        b + "/small.bin": CONTENT["small.bin"],
        b + "/sub/inner.bin": CONTENT["sub/inner.bin"],
    }


def test_cat_ranges_in_parallel(fs, srv, counted):
    b = base(srv)
    starts = list(range(0, len(BIG), 200_000))
    ends = [min(s + 50_001, len(BIG)) for s in starts]
    got = fs.cat_ranges([b + "/big.bin"] * len(starts), starts, ends)
    assert [sha256(g) for g in got] == [sha256(BIG[s:e]) for s, e in zip(starts, ends)]
    assert sorted(r or 0 for c, r in counted if c == "RETR") == starts
    assert 1 < fs._pool.live <= 4  # the pool served them, several at once
    errors = fs.cat_ranges([b + "/nope.bin", b + "/small.bin"], 0, 10)
    assert (
        isinstance(errors[0], FileNotFoundError)
        and errors[1] == CONTENT["small.bin"][:10]
    )


class NoRestMixin:
    def ftp_REST(self, line):
        self.respond("502 REST not implemented here.")


def test_refused_rest_leaves_the_session_in_step(root):
    from servers import PyftpdlibThreaded

    with PyftpdlibThreaded(root, handler_mixins=(NoRestMixin,)) as srv:
        fs = make_fs(srv, connections=1)
        for path in ["/big.bin", "/small.bin"]:
            with pytest.raises(OSError) as info:
                fs.cat_file(path, 100, 200)
            assert str(info.value.__cause__).startswith("502")
            # the RETR sent with the REST was answered and drained
            assert fs.cat_file(path) == CONTENT[path[1:]]
        assert fs._pool.live == 1
        fs.close()


def test_sequential_read_keeps_one_data_connection(fs, srv, counted):
    with fs.open(base(srv) + "/big.bin", "rb", block_size=65536) as f:
        chunks = []
        while chunk := f.read(50_000):
            chunks.append(chunk)
    assert sha256(b"".join(chunks)) == sha256(BIG)
    assert len(chunks) > 60
    assert [c for c in counted if c[0] == "RETR"] == [("RETR", None)]


@pytest.mark.parametrize("far", [False, True], ids=["near", "far"])
def test_random_reads_seek_with_rest(fs, srv, counted, far):
    if far:  # as if stops took a WAN round trip: they go to another thread
        fs._pool._stop_cost = 1.0
    else:  # however long a busy machine makes a round trip on loopback
        fs._pool.far_after = float("inf")
    with fs.open(base(srv) + "/big.bin", "rb", block_size=4096) as f:
        f.seek(2_000_000)
        assert f.read(1000) == BIG[2_000_000:2_001_000]
        f.seek(10)  # backwards: a new RETR at 10
        assert f.read(100) == BIG[10:110]
        f.seek(3_000_000)  # far ahead: a new RETR
        assert f.read() == BIG[3_000_000:]
        f.seek(5000)
        assert f.read(5) == BIG[5000:5005]
    assert [c for c in counted if c[0] == "RETR"] == [
        ("RETR", 2_000_000),
        ("RETR", 10),
        ("RETR", 3_000_000),
        ("RETR", 5000),
    ]
    # Near, a seek stops the transfer at once, on the same session; far, it
    # hands it to another thread (which arms it again, and spare sessions up
    # to the pool's cap) and goes on with another session.
    assert fs._pool.live <= fs.connections if far else fs._pool.live == 1


def test_open_files_share_a_small_pool(ftpd, counted):
    # More open files than sessions: a paused read gives its session up.
    fs = make_fs(ftpd, connections=2)
    files = [
        fs.open(p, "rb", block_size=1000)
        for p in ["/big.bin", "/medium.bin", "/big.bin"]
    ]
    data = {i: [] for i in range(3)}
    for _ in range(5):
        for i, f in enumerate(files):
            data[i].append(f.read(3000))
    assert b"".join(data[0]) == BIG[:15000] == b"".join(data[2])
    assert b"".join(data[1]) == CONTENT["medium.bin"][:15000]
    assert fs._pool.live <= 2
    for f in files:
        f.close()
    fs.close()


def test_more_open_writers_than_sessions_in_one_thread_is_an_error_not_a_hang(ftpd):
    fs = make_fs(ftpd, connections=2)
    files = [fs.open(f"/w{i}.bin", "wb", block_size=1000) for i in range(3)]
    files[0].write(b"a" * 2000)  # past block_size: its STOR is open
    files[1].write(b"b" * 2000)
    with pytest.raises(rftplib.Error, match="held by this thread"):
        files[2].write(b"c" * 2000)
    files[0].close()
    files[1].close()
    assert (ftpd.root / "w0.bin").read_bytes() == b"a" * 2000
    assert (ftpd.root / "w1.bin").read_bytes() == b"b" * 2000
    fs.close()


# -- writes ---------------------------------------------------------------------------------


def test_write_streams_one_stor(fs, srv, counted):
    b = base(srv)
    payload = os.urandom(1_000_003)
    with fs.open(b + "/out.bin", "wb", block_size=65536) as f:
        for i in range(0, len(payload), 10_000):
            f.write(payload[i : i + 10_000])
    assert [c for c in counted if c[0] in ("STOR", "APPE")] == [("STOR", None)]
    assert sha256((srv.root / "out.bin").read_bytes()) == sha256(payload)
    assert fs.info(b + "/out.bin")["size"] == len(payload)
    with fs.open(b + "/out.bin", "ab") as f:
        f.write(b"tail")
    assert (srv.root / "out.bin").read_bytes() == payload + b"tail"
    fs.pipe_file(b + "/piped.bin", b"abc" * 1000)
    assert fs.cat_file(b + "/piped.bin") == b"abc" * 1000
    with pytest.raises(FileExistsError):
        fs.pipe_file(b + "/piped.bin", b"x", mode="create")
    with fs.transaction:
        with fs.open(b + "/tx.bin", "wb") as f:
            f.write(b"committed")
        assert not (srv.root / "tx.bin").exists()
    assert (srv.root / "tx.bin").read_bytes() == b"committed"


def test_get_put_files_and_trees(fs, srv, tmp_path):
    b = base(srv)
    fs.get_file(b + "/big.bin", str(tmp_path / "big.bin"))
    assert sha256((tmp_path / "big.bin").read_bytes()) == sha256(BIG)
    fs.put_file(str(tmp_path / "big.bin"), b + "/made/here/big2.bin")  # parents made
    assert sha256((srv.root / "made/here/big2.bin").read_bytes()) == sha256(BIG)

    tree = tmp_path / "tree"
    files = {
        f"d{i}/f{j}.bin": os.urandom(1000 + 37 * i + j)
        for i in range(3)
        for j in range(7)
    }
    for name, data in files.items():
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_bytes(data)
    (tree / "empty-dir").mkdir()
    fs.put(str(tree), b + "/up", recursive=True)
    for name, data in files.items():
        assert sha256((srv.root / "up" / name).read_bytes()) == sha256(data)
    assert (srv.root / "up" / "empty-dir").is_dir()

    fs.get(b + "/up", str(tmp_path / "down"), recursive=True)
    for name, data in files.items():
        assert sha256((tmp_path / "down" / name).read_bytes()) == sha256(data)
    assert (tmp_path / "down" / "empty-dir").is_dir()


def test_big_files_go_through_download_and_upload(fs, srv, tmp_path, counted):
    b = base(srv)
    fs.ls(b + "/")
    fs.get_file(b + "/big.bin", str(tmp_path / "big.bin"))
    fs.get_file(b + "/small.bin", str(tmp_path / "small.bin"))
    assert [c for c in counted if c[0] in ("download", "RETR")] == [
        ("download", b + "/big.bin"),
        ("RETR", None),
    ]
    assert sha256((tmp_path / "big.bin").read_bytes()) == sha256(BIG)
    assert (tmp_path / "small.bin").read_bytes() == CONTENT["small.bin"]
    del counted[:]
    fs.put_file(str(tmp_path / "big.bin"), b + "/big-up.bin")
    fs.put_file(str(tmp_path / "small.bin"), b + "/small-up.bin")
    assert [c for c in counted if c[0] in ("upload", "STOR")] == [
        ("upload", b + "/big-up.bin"),
        ("STOR", None),
    ]
    assert sha256((srv.root / "big-up.bin").read_bytes()) == sha256(BIG)
    assert (srv.root / "small-up.bin").read_bytes() == CONTENT["small.bin"]


def test_rm_mkdir_mv(fs, srv):
    b = base(srv)
    fs.mkdir(b + "/a/b/c")
    assert (srv.root / "a/b/c").is_dir()
    with pytest.raises(FileExistsError):
        fs.mkdir(b + "/a/b")
    with pytest.raises(FileExistsError):
        fs.makedirs(b + "/a/b")
    fs.makedirs(b + "/a/b", exist_ok=True)
    with pytest.raises(FileNotFoundError):
        fs.mkdir(b + "/x/y", create_parents=False)
    fs.pipe_file(b + "/a/b/c/f.txt", b"data")
    fs.mv(b + "/a/b/c/f.txt", b + "/a/g.txt")
    assert (srv.root / "a/g.txt").read_bytes() == b"data"
    assert not fs.exists(b + "/a/b/c/f.txt")
    fs.mv(b + "/a/b", b + "/a/renamed")
    assert fs.isdir(b + "/a/renamed/c")
    fs.rm_file(b + "/a/g.txt")
    assert not (srv.root / "a/g.txt").exists()
    with pytest.raises(OSError):
        fs.rmdir(b + "/a")  # not empty
    fs.rm(b + "/a", recursive=True)
    assert not (srv.root / "a").exists()
    fs.rm(b + "/sub", recursive=True)
    assert not (srv.root / "sub").exists()


def test_checksum_and_ukey_follow_the_content(fs, srv):
    b = base(srv)
    fs.pipe_file(b + "/c.bin", b"one")
    first = (fs.checksum(b + "/c.bin"), fs.ukey(b + "/c.bin"))
    assert first == (fs.checksum(b + "/c.bin"), fs.ukey(b + "/c.bin"))
    fs.pipe_file(b + "/c.bin", b"three")
    second = (fs.checksum(b + "/c.bin"), fs.ukey(b + "/c.bin"))
    assert first[0] != second[0] and first[1] != second[1]


def test_checksum_is_the_servers_hash_where_offered(root):
    from servers import PyftpdlibThreaded
    from transfer_servers import HashMixin

    with PyftpdlibThreaded(root, handler_mixins=(HashMixin,)) as srv:
        fs = make_fs(srv)
        assert fs.checksum("/big.bin") == int(sha256(BIG), 16)
        fs.pipe_file("/big.bin", b"changed")
        assert fs.checksum("/big.bin") == int(sha256(b"changed"), 16)
        with pytest.raises(FileNotFoundError):
            fs.checksum("/missing.bin")
        fs.close()


# -- errors -----------------------------------------------------------------------------------


def test_errors_are_builtin_with_the_ftp_error_as_cause(fs, srv):
    b = base(srv)
    with pytest.raises(FileNotFoundError) as info:
        fs.cat_file(b + "/missing.bin")
    assert isinstance(info.value.__cause__, rftplib.error_perm)
    assert info.value.filename == b + "/missing.bin"
    with pytest.raises(FileNotFoundError):
        fs.open(b + "/missing.bin", "rb")
    with pytest.raises(IsADirectoryError) as info:
        fs.cat_file(b + "/sub")
    assert isinstance(info.value.__cause__, rftplib.error_perm)
    with pytest.raises(IsADirectoryError):
        fs.open(b + "/sub", "rb")
    with pytest.raises(FileNotFoundError):
        fs.rm_file(b + "/missing.bin")
    strict = make_fs(srv, auto_mkdir=False)
    with pytest.raises(FileNotFoundError):
        strict.pipe_file(b + "/no/such/dir/f.bin", b"x")
    with pytest.raises(FileNotFoundError):
        strict.open(b + "/no/such/dir/f.bin", "wb").close()
    strict.close()
    fs.pipe_file(b + "/made/for/it.bin", b"x")  # auto_mkdir (default)
    assert (srv.root / "made/for/it.bin").read_bytes() == b"x"
    with pytest.raises(FileNotFoundError):
        fs.mv(b + "/missing.bin", b + "/other.bin")
    # The pool survived all of that.
    assert fs.cat_file(b + "/small.bin") == CONTENT["small.bin"]


def test_permission_error(ftpd):
    # pyftpdlib's anonymous account may read but not write.
    fs = FTPFileSystem(ftpd.host, ftpd.port, timeout=10, skip_instance_cache=True)
    assert fs.cat_file("/small.bin") == CONTENT["small.bin"]
    with pytest.raises(PermissionError) as info:
        fs.pipe_file("/small.bin", b"x")
    assert isinstance(info.value.__cause__, rftplib.error_perm)
    with pytest.raises(PermissionError):
        fs.rm_file("/small.bin")
    fs.close()


def test_refused_login_is_permission_error(ftpd):
    fs = FTPFileSystem(
        ftpd.host, ftpd.port, "user", "wrong", timeout=10, skip_instance_cache=True
    )
    with pytest.raises(PermissionError) as info:
        fs.ls("/")
    assert str(info.value.__cause__).startswith("530")


# -- FTPS, pool, concurrency, lifetime ---------------------------------------------------------


def test_ftps_vsftpd_requiring_session_reuse(root):
    from vsftpd import Vsftpd

    with Vsftpd(root, tls="explicit", require_ssl_reuse=True) as srv:
        b = base(srv)
        with fsspec.open(url(srv, "big.bin", scheme="rftps"), "rb", timeout=10) as f:
            assert isinstance(f.fs, FTPSFileSystem) and f.fs.tls
            assert sha256(f.read()) == sha256(BIG)
            f.fs.close()
        fs = make_fs(srv, cls=FTPSFileSystem, ssl_context=srv.client_context())
        assert {e["name"] for e in fs.ls(b + "/sub")} == {
            f"{b}/sub/deeper",
            f"{b}/sub/inner.bin",
        }
        payload = os.urandom(300_000)
        with fs.open(b + "/up.bin", "wb") as f:
            f.write(payload)
        assert sha256((srv.root / "up.bin").read_bytes()) == sha256(payload)
        got = fs.cat_ranges(
            [b + "/big.bin"] * 8,
            list(range(0, 800_000, 100_000)),
            list(range(50_000, 850_000, 100_000)),
        )
        assert [sha256(g) for g in got] == [
            sha256(BIG[s : s + 50_000]) for s in range(0, 800_000, 100_000)
        ]
        with fs.open(b + "/big.bin", "rb", block_size=4096) as f:
            f.seek(3_000_000)
            assert f.read(100) == BIG[3_000_000:3_000_100]
            f.seek(20)  # cut the TLS transfer, start another
            assert f.read(100) == BIG[20:120]
        fs.get(b + "/sub", str(root.parent / "tls-copy"), recursive=True)
        assert (root.parent / "tls-copy" / "inner.bin").read_bytes() == CONTENT[
            "sub/inner.bin"
        ]
        fs.close()
        assert srv.wait_idle()


def test_implicit_ftps(root):
    from vsftpd import Vsftpd

    with Vsftpd(root, tls="implicit") as srv:
        fs = make_fs(srv, implicit_tls=True, ssl_context=srv.client_context())
        assert fs.cat_file(base(srv) + "/medium.bin") == CONTENT["medium.bin"]
        fs.close()


def test_16_threads_4_sessions_server_limit_4(root):
    from vsftpd import Vsftpd

    names = [f"f{i:02d}.bin" for i in range(8)]
    blobs = {n: os.urandom(100_000 + i) for i, n in enumerate(names)}
    for n, data in blobs.items():
        (root / n).write_bytes(data)
    with Vsftpd(root, config={"max_per_ip": 4}) as srv:
        assert srv.wait_idle()  # the start-up probe's session counts until it ends
        b = base(srv)
        fs = make_fs(srv, connections=4)
        jobs = [(f"{b}/{n}", None, None) for n in names]
        jobs += [
            (f"{b}/big.bin", s, s + 65_536) for s in range(0, 8 * 300_000, 300_000)
        ]
        jobs *= 2
        barrier = threading.Barrier(16)

        def run(job):
            path, start, end = job
            barrier.wait(10)  # all 16 ask at once
            return sha256(fs.cat_file(path, start, end))

        with ThreadPoolExecutor(16) as ex:
            got = list(ex.map(run, jobs[:16])) + list(ex.map(run, jobs[16:]))
        want = [
            sha256(blobs[p.rsplit("/", 1)[1]]) if s is None else sha256(BIG[s:e])
            for p, s, e in jobs
        ]
        assert got == want
        assert fs._pool.live <= 4 and fs._pool.cap == 4
        fs.close()
        assert srv.wait_idle()


def test_server_limit_below_pool_size_shrinks_the_pool(root):
    from vsftpd import Vsftpd

    with Vsftpd(root, config={"max_per_ip": 2}) as srv:
        assert srv.wait_idle()
        fs = make_fs(srv, connections=6)
        b = base(srv)
        got = fs.cat_ranges(
            [b + "/big.bin"] * 12,
            list(range(0, 1_200_000, 100_000)),
            list(range(1000, 1_201_000, 100_000)),
        )
        assert got == [BIG[s : s + 1000] for s in range(0, 1_200_000, 100_000)]
        assert fs._pool.cap == 2
        fs.close()


def test_close_and_garbage_collection_end_every_session(root):
    from vsftpd import Vsftpd

    with Vsftpd(root) as srv:
        b = base(srv)
        fs = make_fs(srv)
        fs.cat_ranges([b + "/big.bin"] * 8, list(range(8)), list(range(1, 9)))
        f = fs.open(b + "/big.bin", "rb", block_size=1000)
        f.read(10)  # a parked stream holds a session too
        assert len(srv.session_pids()) >= 2
        fs.close()
        assert srv.wait_idle(), srv.session_pids()
        assert f.read(10) == BIG[10:20]  # usable again: it reconnects
        f.close()
        fs.ls(b + "/", refresh=True)
        assert srv.session_pids()
        del fs, f
        gc.collect()
        assert srv.wait_idle(), srv.session_pids()


def test_closing_a_file_whose_server_went_away_succeeds(root):
    from vsftpd import Vsftpd

    with Vsftpd(root) as srv:
        fs = make_fs(srv)
        f = fs.open(base(srv) + "/big.bin", "rb", block_size=1000)
        assert f.read(10) == BIG[:10]  # a parked RETR holds a session
    f.close()  # the server is gone: no error (the session goes, unless its 226 came first)
    assert f.closed
    fs.close()
    assert fs._pool.live == 0


def test_idle_sessions_are_checked_then_closed(root, counted):
    from vsftpd import Vsftpd

    with Vsftpd(root) as srv:
        fs = make_fs(srv, connections=2)
        b = base(srv)
        assert fs.cat_file(b + "/small.bin") == CONTENT["small.bin"]
        ((first, _),) = fs._pool._idle
        fs._pool.noop_after = 0  # every idle session counts as old: NOOP first
        assert fs.cat_file(b + "/small.bin") == CONTENT["small.bin"]
        assert ("NOOP", None) in counted
        assert fs._pool._idle[0][0] is first
        fs._pool.idle_timeout = 0  # idle sessions expire at once
        assert fs.cat_file(b + "/text.txt") == CONTENT["text.txt"]
        ((second, _),) = fs._pool._idle
        assert second is not first and fs._pool.live == 1
        fs.close()
        assert srv.wait_idle()


def test_dropped_session_is_retried_on_a_new_one(ftpd):
    fs = make_fs(ftpd, connections=1)
    assert fs.cat_file("/small.bin") == CONTENT["small.bin"]
    ((session, _),) = fs._pool._idle
    session.sock.close()  # the connection dies while idle
    assert fs.cat_file("/medium.bin") == CONTENT["medium.bin"]
    ((again, _),) = fs._pool._idle
    assert again is not session
    fs.close()


def test_threads_share_one_instance_from_fsspec_cache(ftpd):
    a = fsspec.filesystem(
        "rftp",
        host=ftpd.host,
        port=ftpd.port,
        username=ftpd.user,
        password=ftpd.password,
        timeout=10,
    )
    b = fsspec.filesystem(
        "rftp",
        host=ftpd.host,
        port=ftpd.port,
        username=ftpd.user,
        password=ftpd.password,
        timeout=10,
    )
    assert a is b
    with ThreadPoolExecutor(8) as ex:
        got = list(ex.map(lambda n: a.cat_file("/" + n), ["big.bin", "medium.bin"] * 8))
    assert got == [BIG, CONTENT["medium.bin"]] * 8
    a.close()
    FTPFileSystem.clear_instance_cache()
