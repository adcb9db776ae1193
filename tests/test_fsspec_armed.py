"""rftplib.fsspec random reads over armed sessions (python/rftplib/_fsspec_arm.py).

Far from the server, a file object's random reads use sessions whose data
connection was opened ahead (PASV + connect) and re-armed in the background
after each cut transfer. On loopback the pool counts as near; these tests
make it far (``far_after``) to take that path against real servers:
pyftpdlib (which accepts the data connection at once), vsftpd (which accepts
it at the RETR) and FTPS with TLS session reuse required (the TLS handshake
after the 150).
"""

from __future__ import annotations

import gc
import hashlib
import random
import threading

import pytest
import rftplib._fsspec_arm
import rftplib._fsspec_pool
from fsspec_support import base, make_fs
from rftplib.fsspec import FTPSFileSystem
from support import CONTENT

BIG = CONTENT["big.bin"]


def sha(data):
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def armed_retrs(monkeypatch):
    """How many reads went through an armed session, and how many of those
    failed at the RETR (a stale or refused data connection)."""
    count = {"reads": 0, "failed": 0}
    retr = rftplib._fsspec_arm.retr

    def counting(armed, path, rest):
        count["reads"] += 1
        try:
            return retr(armed, path, rest)
        except Exception:
            count["failed"] += 1
            raise

    monkeypatch.setattr(rftplib._fsspec_arm, "retr", counting)
    return count


def far(fs):
    fs._pool.far_after = 0.0  # as if every stop took a WAN round trip
    return fs


def fsspec_threads():
    return [t for t in threading.enumerate() if t.name == "rftplib-fsspec"]


def random_reads(fs, path, n, seed=1):
    """``n`` seek+read pairs at random offsets and sizes (some past the end),
    each checked by sha256 against the local copy."""
    rng = random.Random(seed)
    with fs.open(path, "rb", block_size=4096) as f:
        for _ in range(n):
            start = rng.randrange(0, len(BIG) + 10)
            size = rng.choice([1, 100, 4096, 65536, 200_000])
            f.seek(start)
            assert sha(f.read(size)) == sha(BIG[start : start + size]), (start, size)


@pytest.fixture(params=["pyftpdlib", "vsftpd", "ftps-vsftpd-reuse", "ftps-pyftpdlib"])
def armed_fs(request, root):
    """A far filesystem on each server."""
    if request.param == "pyftpdlib":
        srv = request.getfixturevalue("ftpd")
        fs = make_fs(srv)
        yield far(fs), srv
        fs.close()
        return
    if request.param == "ftps-pyftpdlib":
        srv = request.getfixturevalue("ftpd_tls")
        ctx = request.getfixturevalue("tls_ca").client_context()
        fs = make_fs(srv, cls=FTPSFileSystem, ssl_context=ctx)
        yield far(fs), srv
        fs.close()
        return
    from vsftpd import Vsftpd

    tls = {"tls": "explicit", "require_ssl_reuse": True} if "ftps" in request.param else {}
    with Vsftpd(root, **tls) as srv:
        if tls:
            fs = make_fs(srv, cls=FTPSFileSystem, ssl_context=srv.client_context())
        else:
            fs = make_fs(srv)
        yield far(fs), srv
        fs.close()
        assert srv.wait_idle(), srv.session_pids()


def test_armed_random_reads_are_byte_exact(armed_fs, armed_retrs):
    fs, srv = armed_fs
    random_reads(fs, base(srv) + "/big.bin", 150)
    assert armed_retrs["reads"] >= 100  # nearly every read found a session armed
    assert armed_retrs["failed"] == 0
    assert fs._pool.live <= fs.connections
    # The sessions are still in step for everything else (armed ones are
    # disarmed with ABOR first).
    assert fs.cat_file(base(srv) + "/medium.bin") == CONTENT["medium.bin"]
    assert sha(fs.cat_file(base(srv) + "/big.bin", 5, 70_000)) == sha(BIG[5:70_000])


def test_armed_sessions_are_given_to_other_callers_after_abor(ftpd, monkeypatch):
    # pyftpdlib accepts the data connection at once: closing ours without
    # ABOR would make it send a stray "226" that later replies would be
    # mistaken for. Two sessions: one reads, the other is armed, and every
    # other call takes the armed one.
    disarms = []
    disarm = rftplib._fsspec_pool.disarm

    def counting(armed):
        disarms.append(armed)
        return disarm(armed)

    monkeypatch.setattr(rftplib._fsspec_pool, "disarm", counting)
    fs = far(make_fs(ftpd, connections=2))
    with fs.open("/big.bin", "rb", block_size=4096) as f:
        assert f.read(10) == BIG[:10]
        for k in range(1, 13):
            _wait_quiet(fs)  # no stop of the last call's cut transfer still going
            start = k * 700_000 % 3_000_000  # never a short skip ahead
            f.seek(start)
            assert f.read(5000) == BIG[start : start + 5000]
            _wait_armed(fs, 1)
            assert fs.cat_file("/small.bin") == CONTENT["small.bin"]
            assert fs.ls("/", detail=False, refresh=True)
            assert fs.cat_file("/medium.bin", 7, 9007) == CONTENT["medium.bin"][7:9007]
    assert len(disarms) == 12
    assert fs._pool.live <= 2
    fs.close()


def test_stale_armed_connection_is_recovered_pyftpdlib(root, armed_retrs):
    # pyftpdlib ends a data connection idle for DTPHandler.timeout with a 421
    # and the whole session.
    from pyftpdlib.handlers import DTPHandler
    from servers import PyftpdlibThreaded

    class QuickDTP(DTPHandler):
        timeout = 0.3

    class QuickDataTimeout:
        dtp_handler = QuickDTP

    with PyftpdlibThreaded(root, handler_mixins=(QuickDataTimeout,)) as srv:
        fs = far(make_fs(srv, connections=3))
        with fs.open("/big.bin", "rb", block_size=4096) as f:
            f.seek(100)
            assert f.read(1000) == BIG[100:1100]
            f.seek(2_000_000)
            assert f.read(1000) == BIG[2_000_000:2_001_000]
            _wait_armed(fs, 1)
            threading.Event().wait(1.0)  # the armed ones time out on the server
            assert armed_retrs["failed"] == 0
            for start in (50, 1_500_000, 3_000_000):
                f.seek(start)
                assert sha(f.read(70_000)) == sha(BIG[start : start + 70_000])
            assert armed_retrs["failed"] >= 1  # it tried one, which had gone stale
        fs.close()


def test_stale_armed_connection_is_recovered_vsftpd(root, armed_retrs):
    # vsftpd ends a session idle for idle_session_timeout with a 421.
    from vsftpd import Vsftpd

    with Vsftpd(root, config={"idle_session_timeout": 1}) as srv:
        fs = far(make_fs(srv))
        b = base(srv)
        with fs.open(b + "/big.bin", "rb", block_size=4096) as f:
            f.seek(100)
            assert f.read(1000) == BIG[100:1100]
            f.seek(2_000_000)
            assert f.read(1000) == BIG[2_000_000:2_001_000]
            _wait_armed(fs, 1)
            threading.Event().wait(2.5)
            assert armed_retrs["failed"] == 0
            for start in (50, 1_500_000, 3_000_000, 7):
                f.seek(start)
                assert sha(f.read(70_000)) == sha(BIG[start : start + 70_000])
            assert armed_retrs["failed"] >= 1
        fs.close()
        assert srv.wait_idle(), srv.session_pids()


class RefuseOneArmedRetr:
    """The first RETR on an armed session: "425" (the data connection gone),
    the session itself in step."""

    refused = []  # noqa: RUF012

    def ftp_RETR(self, file):
        if not RefuseOneArmedRetr.refused and self.data_channel is not None:
            RefuseOneArmedRetr.refused.append(file)
            self.data_channel.close()
            self.data_channel = None
            self.respond("425 Can't open data connection.")
            return
        return super().ftp_RETR(file)


def test_refused_armed_connection_rearms_the_session(root, armed_retrs):
    from servers import PyftpdlibThreaded

    RefuseOneArmedRetr.refused = []
    with PyftpdlibThreaded(root, handler_mixins=(RefuseOneArmedRetr,)) as srv:
        fs = far(make_fs(srv, connections=2))
        random_reads(fs, "/big.bin", 20)
        assert RefuseOneArmedRetr.refused  # the 425 came, and was read past
        assert armed_retrs["failed"] == 1 and armed_retrs["reads"] >= 10
        fs.close()


def test_close_ends_every_session_and_background_thread(root):
    from vsftpd import Vsftpd

    with Vsftpd(root) as srv:
        b = base(srv)
        fs = far(make_fs(srv))
        f = fs.open(b + "/big.bin", "rb", block_size=4096)
        for start in (0, 1_000_000, 2_000_000, 5, 3_000_000):
            f.seek(start)
            assert f.read(3000) == BIG[start : start + 3000]
        assert len(srv.session_pids()) >= 2  # armed sessions beside the reading one
        fs.close()  # while sessions are being stopped and armed
        assert fsspec_threads() == []
        assert fs._pool.live == 0
        assert srv.wait_idle(), srv.session_pids()
        # still usable: it reconnects
        f.seek(10)
        assert f.read(10) == BIG[10:20]
        f.seek(2_500_000)
        assert f.read(10) == BIG[2_500_000:2_500_010]
        f.close()
        assert srv.session_pids()
        del fs, f
        gc.collect()
        assert fsspec_threads() == []
        assert srv.wait_idle(), srv.session_pids()


def test_server_limit_below_the_pool_while_arming(root):
    # Arming opens sessions in the background up to the pool's size; a
    # server that refuses some (421) lowers the cap, no read fails.
    from vsftpd import Vsftpd

    with Vsftpd(root, config={"max_per_ip": 2}) as srv:
        assert srv.wait_idle()
        fs = far(make_fs(srv, connections=4))
        random_reads(fs, base(srv) + "/big.bin", 30)
        _wait_quiet(fs)
        assert fs._pool.cap <= 2
        fs.close()
        assert srv.wait_idle(), srv.session_pids()


def test_pickle_after_armed_reads(ftpd):
    import pickle

    fs = far(make_fs(ftpd))
    random_reads(fs, "/big.bin", 10)
    again = pickle.loads(pickle.dumps(fs))
    assert again.cat_file("/small.bin") == CONTENT["small.bin"]
    assert again._pool.live == 1
    again.close()
    fs.close()


def _wait_armed(fs, n):
    """Until the pool holds ``n`` armed sessions (background work is done)."""
    pool = fs._pool
    with pool._cond:
        assert pool._cond.wait_for(lambda: len(pool._armed) >= n, 10)


def _wait_quiet(fs):
    """Until no background thread of the pool runs."""
    pool = fs._pool
    with pool._cond:
        assert pool._cond.wait_for(lambda: not pool._workers, 10)



@pytest.mark.parametrize("tls", [None, "explicit"], ids=["plain", "ftps"])
@pytest.mark.parametrize("kind", ["vsftpd", "proftpd", "pureftpd", "pyftpdlib"])
def test_armed_reads_on_every_server(server_farm, kind, tls, armed_retrs, monkeypatch):
    # Armed reads, then other calls that take the armed sessions (ABOR),
    # on each server the suite runs, plain and FTPS (TLS required on data,
    # and session reuse where the server can require it).
    disarms = []
    disarm = rftplib._fsspec_pool.disarm
    monkeypatch.setattr(
        rftplib._fsspec_pool, "disarm", lambda a: disarms.append(a) or disarm(a)
    )
    srv = server_farm.get(kind, tls)
    kwargs = {"cls": FTPSFileSystem, "ssl_context": srv.client_context()} if tls else {}
    # pure-ftpd over TLS sometimes leaves a transfer the client cut
    # unanswered (it waits for the TLS shutdown) until a timeout: stopping it
    # then fails and the session is dropped, armed or not. A short timeout
    # keeps that quick; the bytes are right either way.
    slow_stops = kind == "pureftpd" and tls
    if slow_stops:
        kwargs["timeout"] = 1
    fs = far(make_fs(srv, connections=3, **kwargs))
    home = srv.home.rstrip("/")
    random_reads(fs, home + "/big.bin", 40, seed=len(kind))
    assert armed_retrs["reads"] >= 20 and armed_retrs["failed"] == 0
    if not slow_stops:
        _wait_armed(fs, 2)
    # three at once on three sessions, two of them armed a moment ago
    got = fs.cat_ranges(
        [home + "/medium.bin", home + "/big.bin", home + "/small.bin"],
        [5, 1_000_000, 0],
        [100_005, 1_300_000, None],
    )
    assert [sha(g) for g in got] == [
        sha(CONTENT["medium.bin"][5:100_005]),
        sha(BIG[1_000_000:1_300_000]),
        sha(CONTENT["small.bin"]),
    ]
    assert disarms or slow_stops
    assert fs.ls(home + "/sub", detail=False)
    fs.close()
    assert fsspec_threads() == [] and fs._pool.live == 0


def test_armed_reads_over_ipv6(ftpd6, armed_retrs):
    # EPSV instead of PASV, and a data connection to ::1
    fs = far(make_fs(ftpd6))
    random_reads(fs, "/big.bin", 20, seed=6)
    assert armed_retrs["reads"] >= 10 and armed_retrs["failed"] == 0
    fs.close()
