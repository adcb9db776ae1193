"""Threads, the GIL, exceptions from callbacks, and Ctrl-C.

The in-process server runs on Python threads: a client that blocks while
holding the GIL starves it, and these tests then fail with a timeout.
"""

import contextlib
import io
import signal
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from faultserver import Accept, DataClose, DataSend, FaultServer, Pasv, Sleep
from support import CONTENT, connect, file_sha256, sha256

WELCOME = (None, ["220 fault server"])


@contextlib.contextmanager
def spinner():
    """A Python thread counting as fast as it can; yields a function reading the count."""
    count = [0]
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            count[0] += 1

    thread = threading.Thread(target=spin, name="spinner")
    thread.start()
    try:
        yield lambda: count[0]
    finally:
        stop.set()
        thread.join()


def test_python_thread_runs_during_retrbinary(lib, ftp):
    chunks = []
    with spinner() as count:
        before = count()
        ftp.retrbinary("RETR big.bin", chunks.append, blocksize=1 << 20)
        during = count() - before
    assert sha256(b"".join(chunks)) == sha256(CONTENT["big.bin"])
    assert during > 0


def test_python_thread_runs_while_waiting_for_data(lib):
    # 0.5 s with no data: a client blocked in recv with the GIL held would
    # stop the spinner (and the server thread, which needs the GIL to send).
    script = [
        WELCOME,
        ("TYPE I", ["200 binary"]),
        ("PASV", [Pasv()]),
        (
            "RETR f",
            [
                "150 go",
                Accept(),
                Sleep(0.5),
                DataSend(b"late"),
                DataClose(),
                "226 done",
            ],
        ),
    ]
    with FaultServer(script) as srv:
        ftp = lib.FTP(timeout=5)
        try:
            ftp.connect(srv.host, srv.port)
            chunks = []
            with spinner() as count:
                before = count()
                ftp.retrbinary("RETR f", chunks.append)
                during = count() - before
        finally:
            ftp.close()
    assert chunks == [b"late"]
    assert during > 10_000


def test_python_thread_runs_while_waiting_for_a_reply(lib):
    script = [WELCOME, ("NOOP", [Sleep(0.5), "200 slow"])]
    with FaultServer(script) as srv:
        ftp = lib.FTP(timeout=5)
        try:
            ftp.connect(srv.host, srv.port)
            with spinner() as count:
                before = count()
                assert ftp.voidcmd("NOOP") == "200 slow"
                during = count() - before
        finally:
            ftp.close()
    assert during > 10_000


def test_four_threads_download_on_separate_connections(lib, ftpd):
    def download(name):
        ftp = connect(lib, ftpd)
        try:
            chunks = []
            ftp.retrbinary(f"RETR {name}", chunks.append)
            return sha256(b"".join(chunks))
        finally:
            ftp.close()

    names = ["big.bin", "medium.bin", "big.bin", "small.bin"]
    with ThreadPoolExecutor(4) as pool:
        digests = list(pool.map(download, names))
    assert digests == [sha256(CONTENT[n]) for n in names]


def test_four_threads_upload_on_separate_connections(lib, ftpd, root):
    payloads = {f"up{i}.bin": CONTENT["big.bin"][i:] + bytes([i]) for i in range(4)}

    def upload(name):
        ftp = connect(lib, ftpd)
        try:
            return ftp.storbinary(f"STOR {name}", io.BytesIO(payloads[name]))
        finally:
            ftp.close()

    with ThreadPoolExecutor(4) as pool:
        replies = list(pool.map(upload, payloads))
    assert replies == ["226 Transfer complete."] * 4
    for name, data in payloads.items():
        assert file_sha256(root / name) == sha256(data)


def test_one_client_shared_by_threads_in_turn(lib, ftp):
    # ftplib objects are not thread-safe, but handing one between threads
    # (with a lock) must work.
    lock = threading.Lock()

    def work(name):
        with lock:
            chunks = []
            ftp.retrbinary(f"RETR {name}", chunks.append)
            return sha256(b"".join(chunks))

    names = ["small.bin", "medium.bin", "sub/inner.bin"] * 2
    with ThreadPoolExecutor(3) as pool:
        assert list(pool.map(work, names)) == [sha256(CONTENT[n]) for n in names]


def test_one_client_used_by_two_threads_at_once_never_crashes(lib, ftpd):
    # Misuse, but it must stay safe: replies may go to the wrong thread (as
    # with ftplib), yet nothing crashes or panics, every failure is one of
    # all_errors, and a download reported complete has exactly the file's bytes.
    ftp = connect(lib, ftpd, timeout=3)
    outcomes = []

    def downloads():
        for _ in range(15):
            chunks = []
            try:
                resp = ftp.retrbinary("RETR medium.bin", chunks.append)
            except lib.all_errors as e:
                outcomes.append(type(e))
            else:
                outcomes.append(resp)
                if resp.startswith("226"):
                    assert sha256(b"".join(chunks)) == sha256(CONTENT["medium.bin"])

    def noops():
        for _ in range(150):
            try:
                outcomes.append(ftp.sendcmd("NOOP"))
            except lib.all_errors as e:
                outcomes.append(type(e))

    threads = [threading.Thread(target=downloads), threading.Thread(target=noops)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=90)
        assert not any(t.is_alive() for t in threads)
    finally:
        ftp.close()
    assert len(outcomes) == 165
    assert all(isinstance(o, str) or issubclass(o, lib.all_errors) for o in outcomes)


# -- exceptions raised by callbacks --------------------------------------------------


class Stop(Exception):
    pass


def test_callback_exception_propagates_unchanged(lib, ftp):
    stop = Stop("enough")

    def callback(data):
        raise stop

    with pytest.raises(Stop) as excinfo:
        ftp.retrbinary("RETR big.bin", callback)
    assert excinfo.value is stop
    assert excinfo.value.__context__ is None and excinfo.value.__cause__ is None
    assert excinfo.traceback[-1].name == "callback"


def test_fsspec_pattern_abort_after_a_callback_raises(lib, ftp):
    # fsspec's FTPFile._fetch_range: raise from the callback once enough
    # bytes arrived, then abort() and read the transfer's last reply.
    got = []

    def callback(data):
        got.append(data)
        if sum(map(len, got)) >= 20_000:
            raise Stop

    with pytest.raises(Stop):
        ftp.retrbinary("RETR big.bin", callback, blocksize=8192, rest=1000)
    assert b"".join(got) == CONTENT["big.bin"][1000 : 1000 + len(b"".join(got))]
    assert ftp.abort()[:3] in {"426", "225", "226"}
    assert ftp.getmultiline()[:3] in {"225", "226"}
    assert ftp.voidcmd("NOOP").startswith("200")
    chunks = []
    ftp.retrbinary("RETR small.bin", chunks.append)
    assert b"".join(chunks) == CONTENT["small.bin"]


def test_fsspec_pattern_against_a_scripted_server(each_lib):
    script = [
        WELCOME,
        ("TYPE I", ["200 binary"]),
        ("PASV", [Pasv()]),
        ("REST 10", ["350 restarting"]),
        ("RETR f", ["150 go", Accept(), DataSend(b"x" * 1000)]),
        ("ABOR", ["426 transfer aborted", "226 abort successful"]),
        ("NOOP", ["200 still here"]),
    ]
    with FaultServer(script) as srv:
        ftp = each_lib.FTP(timeout=5)
        try:
            ftp.connect(srv.host, srv.port)

            def callback(data):
                raise Stop

            with pytest.raises(Stop):
                ftp.retrbinary("RETR f", callback, rest=10)
            assert ftp.abort() == "426 transfer aborted"
            assert ftp.getmultiline() == "226 abort successful"
            assert ftp.voidcmd("NOOP") == "200 still here"
        finally:
            ftp.close()
    assert srv.commands == ["TYPE I", "PASV", "REST 10", "RETR f", "ABOR", "NOOP"]


def test_retrlines_callback_exception_propagates(lib, ftp):
    stop = Stop()

    def callback(line):
        raise stop

    with pytest.raises(Stop) as excinfo:
        ftp.retrlines("LIST", callback)
    assert excinfo.value is stop


def test_storbinary_read_exception_propagates(lib, ftp):
    class Broken(io.RawIOBase):
        def readable(self):
            return True

        def read(self, n=-1):
            raise OSError(5, "disk on fire")

    with pytest.raises(OSError) as excinfo:
        ftp.storbinary("STOR broken.bin", Broken())
    assert excinfo.value.errno == 5 and excinfo.value.strerror == "disk on fire"


def test_storbinary_callback_exception_propagates(lib, ftp):
    stop = Stop()

    def callback(block):
        raise stop

    with pytest.raises(Stop) as excinfo:
        ftp.storbinary(
            "STOR cb.bin", io.BytesIO(CONTENT["medium.bin"]), callback=callback
        )
    assert excinfo.value is stop


# -- Ctrl-C ---------------------------------------------------------------------


CHILD = textwrap.dedent("""
    import importlib, sys
    lib = importlib.import_module(sys.argv[1])
    ftp = lib.FTP(timeout=60)
    ftp.connect("127.0.0.1", int(sys.argv[2]))
    if sys.argv[3] == "data":
        def callback(data):
            print("blocked", flush=True)
        ftp.retrbinary("RETR f", callback)
    else:
        print("blocked", flush=True)
        ftp.voidcmd("NOOP")
    print("finished", flush=True)
""")


@pytest.mark.parametrize("where", ["data", "reply"])
def test_ctrl_c_interrupts_a_blocked_call(each_lib, where):
    if where == "data":
        script = [
            WELCOME,
            ("TYPE I", ["200 binary"]),
            ("PASV", [Pasv()]),
            ("RETR f", ["150 go", Accept(), DataSend(b"first"), Sleep(60)]),
        ]
    else:
        script = [WELCOME, ("NOOP", [Sleep(60)])]
    with FaultServer(script) as srv:
        proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, each_lib.__name__, str(srv.port), where],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert proc.stdout.readline() == "blocked\n", proc.stderr.read()
            time.sleep(0.3)  # let it settle into the blocking call
            started = time.monotonic()
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=10)
            elapsed = time.monotonic() - started
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert "finished" not in out
    assert err.rstrip().splitlines()[-1] == "KeyboardInterrupt", err
    assert proc.returncode in (1, -signal.SIGINT)
    assert elapsed < 10
