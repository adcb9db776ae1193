"""The test servers themselves: they start, serve, report, and stop cleanly.

These use stdlib ftplib as the client: they check the harness, not rftplib.
"""

import ftplib
import threading
import time

import pytest
from faultserver import FaultServer, ScriptError
from servers import PyftpdlibProcess, PyftpdlibThreaded
from support import TIMEOUT


def test_threaded_server_stop_joins_every_thread(root):
    before = set(threading.enumerate())
    srv = PyftpdlibThreaded(root).start()
    ftp = ftplib.FTP(timeout=TIMEOUT)
    ftp.connect(srv.host, srv.port)
    ftp.login(srv.user, srv.password)
    ftp.nlst()  # leave the session open: stop() must end it
    try:
        started = time.monotonic()
        srv.stop()
        assert time.monotonic() - started < 5
        assert set(threading.enumerate()) - before == set()
        with pytest.raises(EOFError):
            ftp.voidcmd("NOOP")
    finally:
        ftp.close()


def test_stopping_one_threaded_server_leaves_another_serving(root):
    with PyftpdlibThreaded(root) as keep:
        ftp = ftplib.FTP(timeout=TIMEOUT)
        try:
            ftp.connect(keep.host, keep.port)
            ftp.login(keep.user, keep.password)
            with PyftpdlibThreaded(root):
                pass
            time.sleep(0.2)  # longer than the sessions' poll interval
            assert ftp.voidcmd("NOOP").startswith("200")
        finally:
            ftp.close()


def test_threaded_server_root_can_change_between_sessions(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "in-a").write_bytes(b"")
    (b / "in-b").write_bytes(b"")
    with PyftpdlibThreaded(a) as srv:
        for path, name in [(a, "in-a"), (b, "in-b")]:
            srv.root = path
            with ftplib.FTP(timeout=TIMEOUT) as ftp:
                ftp.connect(srv.host, srv.port)
                ftp.login(srv.user, srv.password)
                assert ftp.nlst() == [name]


def test_process_server_serves_and_stops(root):
    srv = PyftpdlibProcess(root).start()
    try:
        with ftplib.FTP(timeout=TIMEOUT) as ftp:
            ftp.connect(srv.host, srv.port)
            ftp.login(srv.user, srv.password)
            assert "big.bin" in ftp.nlst()
    finally:
        srv.stop()
    assert not srv.running


def test_fault_server_reports_an_unexpected_command():
    script = [(None, ["220 hi"]), ("USER", ["331 ok"])]
    with (
        pytest.raises(ScriptError, match="expected 'USER', got 'NOOP'"),
        FaultServer(script) as srv,
    ):
        ftp = ftplib.FTP(timeout=TIMEOUT)
        ftp.connect(srv.host, srv.port)
        with pytest.raises(ftplib.error_perm):
            ftp.voidcmd("NOOP")
        ftp.close()


def test_fault_server_stops_without_a_client():
    started = time.monotonic()
    with FaultServer([(None, ["220 hi"])]):
        pass
    assert time.monotonic() - started < 2
