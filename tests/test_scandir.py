"""Parsed listings: FTP.scandir, FTP.stat, FTP.walk and rftplib.Entry,
against pyftpdlib (MLSD/MLST, and its ls-style LIST) and vsftpd (LIST only).

The served tree is made here with known names, sizes and modification times,
so every entry is checked against the file system itself.
"""

from __future__ import annotations

import contextlib
import copy
import gc
import os
import pickle
import signal
import stat as stat_module
import threading
import time
from datetime import datetime, timezone

import pytest
import rftplib
from support import connect

# Recent enough for ls to print a time rather than a year (so LIST is
# precise to the minute), and on a minute boundary so LIST and MLSD agree.
RECENT = (int(time.time()) - 2 * 86400) // 60 * 60
OLD = int(datetime(2020, 2, 29, tzinfo=timezone.utc).timestamp())

FILES = {
    "a.txt": 10,
    "name with spaces.txt": 21,
    "  two leading spaces": 3,
    "-leading-dash": 4,
    "arrow -> in name": 5,
    "ünïcødé 名前.txt": 6,
    "old.bin": 7,
    "d1/f1": 100,
    "d1/d2/f2": 200,
    "dir with space/g": 1,
    "-dash dir/h": 2,
}
DIRS = ["d1", "d1/d2", "d1/d2/d3", "dir with space", "-dash dir"]
TOP = {"a.txt", "name with spaces.txt", "  two leading spaces", "-leading-dash",
       "arrow -> in name", "ünïcødé 名前.txt", "old.bin", "d1", "dir with space", "-dash dir", "ln"}  # fmt: skip


def make_tree(root):
    tree = root / "tree"
    tree.mkdir()
    for d in DIRS:
        (tree / d).mkdir(parents=True, exist_ok=True)
    for name, size in FILES.items():
        (tree / name).write_bytes(b"x" * size)
    os.symlink("a.txt", tree / "ln")
    for path in [*tree.rglob("*"), tree]:
        t = OLD if path.name == "old.bin" else RECENT
        os.utime(path, (t, t), follow_symlinks=False)
    return tree


@pytest.fixture
def tree(root):
    return make_tree(root)


@pytest.fixture
def pyftp(lib, ftpd, tree):
    client = connect(lib, ftpd)
    yield client
    client.close()


@pytest.fixture
def vftp(lib, vsftpd, tree):
    # vsftpd runs as the login user: the tree is world-readable already.
    client = connect(lib, vsftpd)
    yield client
    client.close()


def utc(ts):
    return datetime.fromtimestamp(ts, timezone.utc)


def check_against_tree(entries, tree, dirpath="tree", *, list_style):
    """Every entry agrees with os.lstat of the file it names."""
    assert {e.name for e in entries} == set(os.listdir(tree))
    for e in entries:
        # pyftpdlib's MLSD describes what a link points to; LIST the link.
        st = (os.lstat if list_style else os.stat)(tree / e.name)
        assert e.path == f"{dirpath}/{e.name}"
        if stat_module.S_ISDIR(st.st_mode):
            assert e.type == "dir", e
        elif stat_module.S_ISLNK(st.st_mode) and list_style:
            assert (e.type, e.target) == ("link", os.readlink(tree / e.name)), e
        else:
            assert (e.type, e.size) == ("file", st.st_size), e
        assert e.modified == utc(st.st_mtime), e
        assert e.modified.tzinfo is timezone.utc
        if list_style:
            assert e.raw is not None and e.raw.endswith(
                e.name if e.type != "link" else e.target
            )
            assert e.permissions == stat_module.filemode(st.st_mode)
            assert e.facts == {}
        else:
            assert e.raw is None and e.facts["type"] == e.type


def test_scandir_uses_mlsd_when_feat_lists_it(pyftp, tree, capsys):
    pyftp.set_debuglevel(1)
    entries = pyftp.scandir("tree")
    out = capsys.readouterr().out
    assert (
        "*cmd* 'FEAT'" in out and "*cmd* 'TYPE A'" in out and "*cmd* 'MLSD tree'" in out
    )
    assert "*resp* '226 Transfer complete.'" in out
    check_against_tree(entries, tree, list_style=False)
    # FEAT is asked once per connection.
    pyftp.scandir("tree")
    assert "FEAT" not in capsys.readouterr().out


def test_scandir_list_on_pyftpdlib(pyftp, tree):
    check_against_tree(pyftp.scandir("tree", mlsd=False), tree, list_style=True)


def test_scandir_mlsd_and_list_agree(pyftp):
    by_mlsd = {e.name: e for e in pyftp.scandir("tree", mlsd=True)}
    assert pickle.loads(pickle.dumps(by_mlsd))["a.txt"].facts == by_mlsd["a.txt"].facts
    by_list = {e.name: e for e in pyftp.scandir("tree", mlsd=False)}
    assert by_mlsd.keys() == by_list.keys() == TOP
    for name in TOP - {"ln"}:
        m, li = by_mlsd[name], by_list[name]
        assert (m.type, m.modified, m.path) == (li.type, li.modified, li.path), name
        if m.type == "file":
            assert m.size == li.size
    # pyftpdlib's MLSD describes what a link points to; its LIST the link.
    assert (by_list["ln"].type, by_list["ln"].target) == ("link", "a.txt")
    assert by_mlsd["ln"].type == "file"


def test_scandir_vsftpd_lists_with_list(vftp, tree, capsys):
    vftp.set_debuglevel(1)
    entries = vftp.scandir("tree")
    out = capsys.readouterr().out
    assert "*cmd* 'LIST tree'" in out and "MLSD" not in out
    check_against_tree(entries, tree, list_style=True)
    owners = {e.owner for e in entries}
    assert len(owners) == 1 and owners.pop().isdigit()


def test_scandir_current_directory_and_nested(vftp, tree):
    vftp.cwd("tree/d1")
    entries = vftp.scandir()
    assert sorted((e.name, e.path, e.type) for e in entries) == [
        ("d2", "d2", "dir"),
        ("f1", "f1", "file"),
    ]
    assert [e.name for e in vftp.scandir("d2/d3")] == []


@pytest.mark.parametrize("mlsd", [True, False])
def test_scandir_missing_directory_raises_the_servers_reply(pyftp, mlsd):
    # pyftpdlib: 550 for LIST, 501 for MLSD.
    with pytest.raises(rftplib.error_perm, match="^5[05][01] "):
        pyftp.scandir("no such dir", mlsd=mlsd)
    # The session goes on.
    assert {e.name for e in pyftp.scandir("tree/d1", mlsd=mlsd)} == {"d2", "f1"}


def test_scandir_active_mode_and_session_after(pyftp, tree):
    pyftp.set_pasv(False)
    check_against_tree(pyftp.scandir("tree"), tree, list_style=False)
    lines = []
    pyftp.retrlines("NLST tree/d1", lines.append)
    assert sorted(lines) == ["tree/d1/d2", "tree/d1/f1"] or sorted(lines) == [
        "d2",
        "f1",
    ]
    data = []
    pyftp.retrbinary("RETR tree/a.txt", data.append)
    assert b"".join(data) == b"x" * 10


def test_scandir_over_tls(lib, ftpd_tls, tls_ca, tree):
    ftp = lib.FTP_TLS(context=tls_ca.client_context(), timeout=10)
    ftp.connect(ftpd_tls.host, ftpd_tls.port)
    ftp.login(ftpd_tls.user, ftpd_tls.password)
    ftp.prot_p()
    try:
        check_against_tree(ftp.scandir("tree"), tree, list_style=False)
        check_against_tree(ftp.scandir("tree", mlsd=False), tree, list_style=True)
        assert ftp.voidcmd("NOOP").startswith("200")
    finally:
        ftp.close()


def test_scandir_over_tls_on_vsftpd_with_session_reuse(lib, root, tree):
    from vsftpd import Vsftpd

    with Vsftpd(root, tls="explicit", require_ssl_reuse=True) as srv:
        ftp = lib.FTP_TLS(context=srv.client_context(), timeout=10)
        ftp.connect(srv.host, srv.port)
        ftp.login(srv.user, srv.password)
        ftp.prot_p()
        try:
            check_against_tree(ftp.scandir("tree"), tree, list_style=True)
            assert ftp.stat("tree/d1/f1").size == 100
            assert ftp.voidcmd("NOOP").startswith("200")
        finally:
            ftp.close()


@pytest.mark.parametrize("encoding", ["latin-1", "cp1252"])
def test_scandir_names_decode_as_the_connection_does(pyftp, tree, encoding):
    # The names are what the connection's encoding makes of the bytes (here
    # UTF-8 read as a single-byte encoding); bytes it cannot decode become
    # U+FFFD instead of failing the listing (cp1252 has no 0x90).
    pyftp.encoding = encoding
    expected = {n.encode().decode(encoding, "replace") for n in os.listdir(tree)}
    assert {e.name for e in pyftp.scandir("tree", mlsd=False)} == expected
    assert {e.name for e in pyftp.scandir("tree", mlsd=True)} == expected


class _Wrapped:
    """A data connection that is not rftplib's own socket."""

    def __init__(self, conn):
        self.conn = conn

    def recv(self, n):
        return self.conn.recv(n)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.conn.close()


def test_scandir_with_a_foreign_data_connection(lib, ftpd, tree):
    class Wrapping(lib.FTP):
        def transfercmd(self, cmd, rest=None):
            return _Wrapped(super().transfercmd(cmd, rest))

    ftp = Wrapping(timeout=10)
    ftp.connect(ftpd.host, ftpd.port)
    ftp.login(ftpd.user, ftpd.password)
    try:
        check_against_tree(ftp.scandir("tree"), tree, list_style=False)
    finally:
        ftp.close()


@pytest.mark.parametrize("mlst", [True, False])
def test_stat_file_dir_and_missing_on_pyftpdlib(pyftp, tree, mlst):
    f = pyftp.stat("tree/d1/f1", mlst=mlst)
    assert (f.name, f.path, f.type, f.size) == ("f1", "tree/d1/f1", "file", 100)
    assert f.modified == utc(RECENT)
    d = pyftp.stat("tree/d1/d2", mlst=mlst)
    assert (d.name, d.path, d.type) == ("d2", "tree/d1/d2", "dir")
    odd = pyftp.stat("tree/  two leading spaces", mlst=mlst)
    assert (odd.name, odd.size) == ("  two leading spaces", 3)
    with pytest.raises(rftplib.error_perm, match="^550"):
        pyftp.stat("tree/missing", mlst=mlst)
    assert pyftp.stat("", mlst=mlst).type == "dir"


def test_stat_agrees_between_mlst_and_fallback(pyftp):
    for path in ["tree/a.txt", "tree/old.bin", "tree/ünïcødé 名前.txt", "tree/d1"]:
        m, s = pyftp.stat(path), pyftp.stat(path, mlst=False)
        assert (m.name, m.path, m.type, m.modified) == (
            s.name,
            s.path,
            s.type,
            s.modified,
        )
        if m.type == "file":
            assert m.size == s.size
    assert "type" in pyftp.stat("tree/a.txt").facts


def test_stat_on_vsftpd(vftp, tree):
    f = vftp.stat("tree/name with spaces.txt")
    assert (f.type, f.size, f.modified) == ("file", 21, utc(RECENT))
    d = vftp.stat("tree/dir with space")
    assert (d.name, d.type, d.path) == ("dir with space", "dir", "tree/dir with space")
    assert d.raw.endswith(" dir with space")
    assert vftp.stat("tree").type == "dir"
    here = vftp.stat("")
    assert (here.name, here.path, here.type) == (".", "", "dir")
    with pytest.raises(rftplib.error_perm, match="^550"):
        vftp.stat("tree/missing")
    with pytest.raises(rftplib.error_perm, match="^550"):
        vftp.stat("tree/missing/deeper")


def expected_walk(tree, topdown):
    out = []
    for dirpath, dirnames, filenames in os.walk(tree, topdown=topdown):
        rel = os.path.relpath(dirpath, tree.parent)
        out.append((rel, sorted(dirnames), sorted(filenames)))
    return out


def normalized(walk):
    return [(d, sorted(dn), sorted(fn)) for d, dn, fn in walk]


@pytest.mark.parametrize("topdown", [True, False])
def test_walk_equals_os_walk(pyftp, vftp, tree, topdown):
    expected = expected_walk(tree, topdown)
    for ftp, mlsd in [(pyftp, True), (pyftp, False), (vftp, None)]:
        got = normalized(ftp.walk("tree", topdown=topdown, mlsd=mlsd))
        assert sorted(got) == sorted(expected)
        order = [d for d, _, _ in got]
        for d in order:
            parent = os.path.dirname(d)
            if parent in order:
                assert (order.index(parent) < order.index(d)) == topdown


def test_walk_prunes_in_place_and_from_current_directory(vftp):
    vftp.cwd("tree")
    seen = {}
    for dirpath, dirnames, filenames in vftp.walk():
        seen[dirpath] = sorted(filenames)
        if "d1" in dirnames:
            dirnames.remove("d1")
    assert sorted(seen) == ["", "-dash dir", "dir with space"]
    # "LIST -dash dir" would be ls options: the directory is listed as "./-dash dir".
    assert seen["-dash dir"] == ["h"]
    assert [(e.name, e.path) for e in vftp.scandir("-dash dir")] == [
        ("h", "-dash dir/h")
    ]


def test_walk_ends_on_a_directory_loop_seen_as_a_directory(pyftp, tree):
    # pyftpdlib's MLSD calls a link to a directory a "dir"; its `unique` fact
    # is what stops the walk from going round the loop forever.
    os.symlink("..", tree / "d1" / "d2" / "up")
    walked = [d for d, _, _ in pyftp.walk("tree/d1", mlsd=True)]
    assert {"tree/d1", "tree/d1/d2", "tree/d1/d2/d3"} <= set(walked)
    # The loop is entered at most once: the top's own identity is not listed.
    assert len(walked) == len(set(walked)) <= 5
    by_list = list(pyftp.walk("tree/d1", mlsd=False))
    assert ("tree/d1/d2", ["d3"], ["f2", "up"]) in [
        (d, sorted(dn), sorted(fn)) for d, dn, fn in by_list
    ]
    assert len(by_list) == 3


def test_walk_onerror(pyftp):
    errors = []
    assert list(pyftp.walk("tree/missing", onerror=errors.append)) == []
    assert len(errors) == 1 and isinstance(errors[0], rftplib.error_perm)
    assert str(errors[0]).startswith("501")  # pyftpdlib's reply to MLSD
    assert list(pyftp.walk("tree/missing")) == []


def test_entry_class():
    e = rftplib.Entry(
        "x y", "file", path="d/x y", size=3, modified=OLD, facts={"type": "file"}
    )
    assert (e.name, e.path, e.type, e.size) == ("x y", "d/x y", "file", 3)
    assert e.modified == datetime(2020, 2, 29, tzinfo=timezone.utc)
    assert e.facts == {"type": "file"} and e.facts is not e.facts
    assert (e.permissions, e.owner, e.group, e.target, e.raw) == (None,) * 5
    same = rftplib.Entry("x y", path="d/x y", size=3, modified=datetime(2020, 2, 29),
                         facts={"type": "file"})  # fmt: skip
    assert e == same and hash(e) == hash(same) and len({e, same}) == 1
    assert e != rftplib.Entry(
        "x y", path="d/x y", size=4, modified=OLD, facts={"type": "file"}
    )
    assert e != "x y"
    assert (
        repr(e)
        == "Entry('d/x y', type='file', size=3, modified='2020-02-29T00:00:00+00:00')"
    )
    assert rftplib.Entry("n").path == "n"
    for copied in (pickle.loads(pickle.dumps(e)), copy.copy(e), copy.deepcopy(e)):
        assert copied == e and copied.modified == e.modified and copied.facts == e.facts
    with pytest.raises(ValueError):
        rftplib.Entry("n", "socket")
    with pytest.raises(AttributeError):
        e.name = "other"


def test_parse_listing_helper():
    from rftplib._rftplib import _parse_listing

    entries = _parse_listing(
        "total 3\r\n"
        "02-29-24  03:04PM       <DIR>          win dir\r\n"
        "+i1.2,m1709219040,r,s5,\teplf file\r\n"
        "drwxr-xr-x 2 u g 4096 Feb 29  2024 ..\r\n"
        "garbage line\r\n",
        dirpath="/",
    )
    assert [(e.path, e.type) for e in entries] == [
        ("/win dir", "dir"),
        ("/eplf file", "file"),
        ("/line", "other"),
    ]
    assert entries[0].modified == entries[1].modified == utc(1709219040)
    assert entries[2].raw == "garbage line"


# -- faults no real server produces (tests/faultserver.py) --------------------


@contextlib.contextmanager
def _fault_session(lib, actions, *, timeout=10, cmd="LIST d"):
    from faultserver import FaultServer, Pasv

    script = [
        (None, ["220 fault server"]),
        ("TYPE A", ["200 ascii"]),
        ("PASV", [Pasv()]),
        (cmd, list(actions)),
    ]
    with FaultServer(script) as srv:
        ftp = lib.FTP(timeout=timeout)
        try:
            ftp.connect(srv.host, srv.port)
            yield ftp
        finally:
            ftp.close()


def test_scandir_garbage_lines_are_entries_not_errors(lib):
    from faultserver import Accept, DataClose, DataSend

    with _fault_session(
        lib,
        [
            "150 here",
            Accept(),
            DataSend(
                b"total 2\r\n\x00\xff\xfe junk\r\n-rw-r--r-- 1 u g 5 Jan 01  2020 ok"
            ),
            DataSend(b"\r\n02-29-24  03:04PM  <DIR>  win\n+/,\teplf\r\n  \r\n"),
            DataClose(),
            "226 done",
        ],
    ) as ftp:
        entries = ftp.scandir("d", mlsd=False)
    assert [(e.path, e.type) for e in entries] == [
        ("d/junk", "other"),
        ("d/ok", "file"),
        ("d/win", "dir"),
        ("d/eplf", "dir"),
    ]
    assert entries[0].raw == "\x00\ufffd\ufffd junk"


def test_scandir_fails_when_the_server_says_the_listing_is_incomplete(lib):
    from faultserver import Accept, DataClose, DataSend

    with (
        _fault_session(
            lib,
            [
                "150 here",
                Accept(),
                DataSend(b"-rw-r--r-- 1 u g 5 Jan 01  2020 ok\r\n"),
                DataClose(),
                "451 local error, listing aborted",
            ],
        ) as ftp,
        pytest.raises(rftplib.error_temp, match="^451"),
    ):
        ftp.scandir("d", mlsd=False)


def test_scandir_data_reset_raises(lib):
    from faultserver import Accept, DataReset, DataSend

    with (
        _fault_session(
            lib,
            [
                "150 here",
                Accept(),
                DataSend(b"-rw-r--r-- 1 u g 5 Jan 01  2020 ok\r\n"),
                DataReset(),
                "226 done (a lie)",
            ],
        ) as ftp,
        pytest.raises(ConnectionResetError),
    ):
        ftp.scandir("d", mlsd=False)


def test_scandir_stalled_data_connection_times_out(lib):
    from faultserver import Accept, DataClose, DataSend, Sleep

    with (
        _fault_session(
            lib,
            [
                "150 here",
                Accept(),
                DataSend(b"type=file;size=1; partial"),
                Sleep(2.5),
                DataClose(),
                "226 done",
            ],
            timeout=0.5,
            cmd="MLSD d",
        ) as ftp,
        pytest.raises(TimeoutError),
    ):
        ftp.scandir("d", mlsd=True)


def test_stat_without_mlst_or_size_uses_the_parent_listing(lib):
    from faultserver import Accept, DataClose, DataSend, FaultServer, Pasv

    listing = b"-rw-r--r-- 1 u g 5 Feb 29  2024 here\r\n"
    parent_list = [
        ("TYPE A", ["200 ascii"]),
        ("PASV", [Pasv()]),
        ("LIST d", ["150 here", Accept(), DataSend(listing), DataClose(), "226 ok"]),
    ]
    script = [
        (None, ["220 fault server"]),
        ("FEAT", ["500 FEAT? never heard of it"]),
        ("TYPE I", ["200 binary"]),
        ("SIZE d/here", ["500 SIZE? never heard of it"]),
        *parent_list,
        ("TYPE I", ["200 binary"]),
        ("SIZE d/gone", ["502 not implemented"]),
        *parent_list,
    ]
    with FaultServer(script) as srv:
        ftp = lib.FTP(timeout=10)
        try:
            ftp.connect(srv.host, srv.port)
            e = ftp.stat("d/here")
            assert (e.name, e.path, e.type, e.size) == ("here", "d/here", "file", 5)
            assert e.modified == datetime(2024, 2, 29, tzinfo=timezone.utc)
            # A command the server lacks is not the answer for the path.
            with pytest.raises(rftplib.error_perm, match="^550 d/gone: No such file"):
                ftp.stat("d/gone")
        finally:
            ftp.close()


@pytest.mark.parametrize("encoding", ["utf-8", "latin-1"])
def test_ctrl_c_stops_a_listing_that_trickles_in(lib, encoding):
    from faultserver import Accept, DataSendForever

    line = b"-rw-r--r-- 1 u g 5 Feb 29  2024 name\r\n"
    with _fault_session(
        lib, ["150 here", Accept(), DataSendForever(line, interval=0.02)]
    ) as ftp:
        ftp.encoding = encoding
        timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
        timer.start()
        try:
            with pytest.raises(KeyboardInterrupt):
                ftp.scandir("d", mlsd=False)
        finally:
            timer.join()


# -- listings longer than one batch: entries are made on a second thread ------

BIG = 10_000  # over two of scandir's batches of 4,096 entries


def _make_big(root):
    big = root / "big"
    big.mkdir()
    for i in range(BIG):
        name = f"f{i:05d}" + "-x" * (i % 9) + (" copy" if i % 7 == 0 else "")
        os.close(os.open(big / name, os.O_CREAT | os.O_WRONLY, 0o644))
    return big


def _raw_listing(ftp, cmd):
    lines = []
    ftp.retrlines(cmd, lines.append)
    return "\n".join(lines)


@pytest.mark.parametrize("mlsd", [False, True], ids=["vsftpd-LIST", "pyftpdlib-MLSD"])
def test_scandir_of_a_big_directory_keeps_every_entry_in_order(
    lib, root, vsftpd, ftpd, mlsd
):
    big = _make_big(root)
    ftp = connect(lib, ftpd if mlsd else vsftpd)
    try:
        entries = ftp.scandir("big", mlsd=mlsd)
        raw = _raw_listing(ftp, "MLSD big" if mlsd else "LIST big")
    finally:
        ftp.close()
    assert len(entries) == BIG
    assert {e.name for e in entries} == set(os.listdir(big))
    # The same entries, in the server's order, as parsing the whole reply at once.
    assert entries == rftplib._rftplib._parse_listing(raw, mlsd, "big")
    assert all(e.type == "file" and e.size == 0 for e in entries)
    # Entries refer to no Python objects: left out of the cycle collector's
    # walks, and a collection leaves them intact.
    assert not any(gc.is_tracked(e) for e in entries)
    gc.collect()
    assert sorted(e.name for e in entries) == sorted(os.listdir(big))
    if not mlsd:
        assert all(e.permissions == "-rw-r--r--" and e.owner for e in entries)


_BLOCK = b"".join(
    b"-rw-r--r-- 1 u g %d Feb 29  2024 n%d\r\n" % (i, i) for i in range(5000)
)


def test_scandir_data_reset_after_several_batches_raises(lib):
    from faultserver import Accept, DataReset, DataSend

    with (
        _fault_session(
            lib,
            ["150 here", Accept(), DataSend(_BLOCK * 3), DataReset(), "226 a lie"],
        ) as ftp,
        pytest.raises(ConnectionResetError),
    ):
        ftp.scandir("d", mlsd=False)


def test_ctrl_c_stops_a_big_listing_that_never_ends(lib):
    from faultserver import Accept, DataSendForever

    with _fault_session(
        lib, ["150 here", Accept(), DataSendForever(_BLOCK, interval=0.01)]
    ) as ftp:
        timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
        timer.start()
        try:
            with pytest.raises(KeyboardInterrupt):
                ftp.scandir("d", mlsd=False)
        finally:
            timer.join()
