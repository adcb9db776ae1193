"""FTP.download(): whole files to .part then renamed, resume, verification,
retries, progress, rate limits and parallel connections, against real
servers (pyftpdlib, vsftpd) and the scripted fault server for resets."""

from __future__ import annotations

import hashlib
import io
import os
import signal
import threading
import time

import pytest
from faultserver import Accept, DataClose, DataReset, DataSend, FaultServer, Pasv, Sleep
from servers import PyftpdlibThreaded
from support import CONTENT, TIMEOUT, sha256
from transfer_servers import HashMixin, LyingSizeMixin, WrongHashMixin

BLOCK = 8192


def login(lib, srv, cls=None, **kwargs):
    cls = cls or lib.FTP
    ftp = cls(timeout=TIMEOUT, **kwargs)
    ftp.connect(srv.host, srv.port)
    ftp.login(srv.user, srv.password)
    return ftp


def file_hash(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


@pytest.fixture
def sized(root):
    """Files of the sizes around a block boundary, in the server root."""
    rng = __import__("random").Random(7)
    names = {}
    for size in (0, 1, BLOCK - 1, BLOCK, BLOCK + 1):
        name = f"s{size}.bin"
        data = rng.randbytes(size)
        (root / name).write_bytes(data)
        names[size] = (name, sha256(data))
    return names


# -- bytes arrive intact ----------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, BLOCK - 1, BLOCK, BLOCK + 1])
@pytest.mark.parametrize("connections", [1, 2, 4])
def test_sizes_around_the_block(lib, ftpd, sized, tmp_path, size, connections):
    name, digest = sized[size]
    ftp = login(lib, ftpd)
    result = ftp.download(
        name, tmp_path / name, connections=connections, blocksize=BLOCK
    )
    ftp.quit()
    assert file_hash(tmp_path / name) == digest
    assert result.bytes == size
    assert result.local == str(tmp_path / name)
    assert not (tmp_path / (name + ".part")).exists()


@pytest.mark.parametrize("connections", [1, 2, 4])
def test_big_file_over_connections(lib, ftpd, tmp_path, connections):
    ftp = login(lib, ftpd)
    result = ftp.download("big.bin", tmp_path / "big.bin", connections=connections)
    # The control connection is still in step afterwards.
    assert ftp.size("big.bin") == len(CONTENT["big.bin"])
    ftp.quit()
    assert file_hash(tmp_path / "big.bin") == sha256(CONTENT["big.bin"])
    assert result.connections == connections
    assert result.bytes == len(CONTENT["big.bin"])
    assert result.resumed_from == 0
    assert isinstance(result, lib.TransferResult)


def test_default_local_name_and_directory_target(lib, ftpd, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ftp = login(lib, ftpd)
    ftp.download("sub/inner.bin")
    os.mkdir("dest")
    ftp.download("small.bin", "dest")
    ftp.quit()
    assert (tmp_path / "inner.bin").read_bytes() == CONTENT["sub/inner.bin"]
    assert (tmp_path / "dest" / "small.bin").read_bytes() == CONTENT["small.bin"]


def test_download_into_a_file_object(lib, ftpd):
    ftp = login(lib, ftpd)
    buf = io.BytesIO()
    result = ftp.download("big.bin", buf, connections=4)
    ftp.quit()
    assert sha256(buf.getvalue()) == sha256(CONTENT["big.bin"])
    assert result.local is buf
    assert result.connections == 1


def test_missing_remote_file_is_error_perm_and_leaves_nothing(lib, ftpd, tmp_path):
    ftp = login(lib, ftpd)
    with pytest.raises(lib.error_perm):
        ftp.download("nope.bin", tmp_path / "nope.bin")
    ftp.quit()
    assert list(tmp_path.iterdir()) == []


def test_not_connected_is_an_error(lib, tmp_path):
    with pytest.raises(lib.Error):
        lib.FTP().download("x", tmp_path / "x")


def test_preserve_mtime(lib, ftpd, root, tmp_path):
    os.utime(root / "small.bin", (1_000_000_000, 1_000_000_000))
    ftp = login(lib, ftpd)
    ftp.download("small.bin", tmp_path / "small.bin", preserve_mtime=True)
    ftp.quit()
    assert os.stat(tmp_path / "small.bin").st_mtime == 1_000_000_000


def test_100_mib_over_vsftpd(lib, vsftpd, root, tmp_path):
    data = os.urandom(100 * 1024 * 1024)
    (root / "hundred.bin").write_bytes(data)
    os.chown(root / "hundred.bin", *_owner(root))
    ftp = login(lib, vsftpd)
    for n in (1, 4):
        result = ftp.download("hundred.bin", tmp_path / f"h{n}.bin", connections=n)
        assert result.connections == n
        assert file_hash(tmp_path / f"h{n}.bin") == sha256(data)
    ftp.quit()


def _owner(path):
    st = os.stat(path)
    return st.st_uid, st.st_gid


def _extents(path):
    """The data extents of a sparse file: [(start, end), ...]."""
    out = []
    with open(path, "rb") as f:
        fd = f.fileno()
        size = os.fstat(fd).st_size
        pos = 0
        while pos < size:
            try:
                start = os.lseek(fd, pos, os.SEEK_DATA)
            except OSError:
                break
            end = os.lseek(fd, start, os.SEEK_HOLE)
            out.append((start, end))
            pos = end
    return out


def _read(path, start, end):
    with open(path, "rb") as f:
        f.seek(start)
        return f.read(end - start)


def test_file_over_4_gib_sparse_with_four_connections(lib, vsftpd, root, tmp_path):
    # 64-bit offsets: data on both sides of 4 GiB, holes elsewhere. The
    # download keeps the holes (zero blocks are not written into the fresh
    # .part), so the bytes are compared extent by extent: every byte outside
    # the extents of both files is zero.
    size = (4 << 30) + 3 * (1 << 20) + 17
    marks = {
        0: b"head" * 1000,
        (4 << 30) - 5000: os.urandom(10_000),
        size - 7000: os.urandom(7000),
    }
    remote = root / "huge.bin"
    with open(remote, "wb") as f:
        f.truncate(size)
        for at, data in marks.items():
            f.seek(at)
            f.write(data)
    os.chown(remote, *_owner(root))
    ftp = login(lib, vsftpd)
    result = ftp.download("huge.bin", tmp_path / "huge.bin", connections=4)
    ftp.quit()
    local = tmp_path / "huge.bin"
    assert result.bytes == size and result.connections == 4
    assert os.path.getsize(local) == size
    regions = sorted(set(_extents(local)) | set(_extents(remote)))
    assert sum(e - s for s, e in regions) < 64 << 20  # still sparse
    for start, end in regions:
        assert sha256(_read(local, start, end)) == sha256(_read(remote, start, end))
    for at, data in marks.items():
        assert _read(local, at, at + len(data)) == data


# -- FTPS -------------------------------------------------------------------


@pytest.mark.parametrize("connections", [1, 4])
def test_ftps_prot_p_pyftpdlib(lib, ftpd_tls, tls_ca, tmp_path, connections):
    ftp = login(lib, ftpd_tls, cls=lib.FTP_TLS, context=tls_ca.client_context())
    ftp.prot_p()
    result = ftp.download("big.bin", tmp_path / "big.bin", connections=connections)
    ftp.quit()
    assert result.connections == connections
    assert file_hash(tmp_path / "big.bin") == sha256(CONTENT["big.bin"])


@pytest.fixture
def vsftpd_tls(root):
    from vsftpd import Vsftpd

    with Vsftpd(root, tls="explicit", require_ssl_reuse=True) as srv:
        yield srv


@pytest.mark.parametrize("connections", [1, 2, 4])
def test_ftps_vsftpd_require_ssl_reuse(lib, vsftpd_tls, tmp_path, connections):
    ftp = login(lib, vsftpd_tls, cls=lib.FTP_TLS, context=vsftpd_tls.client_context())
    ftp.prot_p()
    result = ftp.download("big.bin", tmp_path / "big.bin", connections=connections)
    assert ftp.pwd()  # still in step
    ftp.quit()
    assert result.connections == connections
    assert file_hash(tmp_path / "big.bin") == sha256(CONTENT["big.bin"])


# -- falling back -----------------------------------------------------------


def test_four_connections_against_max_per_ip_2(lib, root, tmp_path):
    from vsftpd import Vsftpd

    with Vsftpd(root, config={"max_per_ip": 2}) as srv:
        srv.wait_idle()
        ftp = login(lib, srv)
        result = ftp.download("big.bin", tmp_path / "big.bin", connections=4)
        ftp.quit()
    assert result.connections == 2
    assert file_hash(tmp_path / "big.bin") == sha256(CONTENT["big.bin"])


def test_connections_without_credentials_fall_back_to_one(lib, ftpd, tmp_path):
    ftp = login(lib, ftpd)
    del ftp._rftplib_login  # as if logged in by hand, without login()
    result = ftp.download("big.bin", tmp_path / "big.bin", connections=4)
    ftp.quit()
    assert result.connections == 1
    assert file_hash(tmp_path / "big.bin") == sha256(CONTENT["big.bin"])


# -- verification -----------------------------------------------------------


@pytest.fixture
def server_with(root):
    started = []

    def make(*mixins):
        srv = PyftpdlibThreaded(root, handler_mixins=mixins).start()
        started.append(srv)
        return srv

    yield make
    for srv in started:
        srv.stop()


@pytest.mark.parametrize("connections", [1, 4])
def test_checksum_verified_while_streaming(lib, server_with, tmp_path, connections):
    srv = server_with(HashMixin)
    ftp = login(lib, srv)
    result = ftp.download("big.bin", tmp_path / "big.bin", connections=connections)
    ftp.quit()
    assert result.checksum_algorithm == "SHA-256"
    assert result.checksum == sha256(CONTENT["big.bin"])
    assert file_hash(tmp_path / "big.bin") == result.checksum


@pytest.mark.parametrize("connections", [1, 4])
def test_wrong_checksum_raises_and_leaves_no_target(
    lib, server_with, tmp_path, connections
):
    srv = server_with(WrongHashMixin)
    ftp = login(lib, srv)
    with pytest.raises(lib.VerificationError, match="SHA-256"):
        ftp.download("big.bin", tmp_path / "big.bin", connections=connections)
    ftp.quit()
    assert not (tmp_path / "big.bin").exists()
    assert isinstance(lib.VerificationError("x"), lib.all_errors)


@pytest.mark.parametrize("connections", [1, 4])
def test_lying_size_raises_and_leaves_no_target(
    lib, server_with, tmp_path, connections
):
    srv = server_with(LyingSizeMixin)
    ftp = login(lib, srv)
    with pytest.raises(lib.VerificationError, match="size"):
        ftp.download("big.bin", tmp_path / "big.bin", connections=connections)
    assert ftp.pwd() == "/"  # still in step
    ftp.quit()
    assert not (tmp_path / "big.bin").exists()


def test_verify_false_skips_the_checksum(lib, server_with, tmp_path):
    srv = server_with(WrongHashMixin)
    ftp = login(lib, srv)
    result = ftp.download("small.bin", tmp_path / "small.bin", verify=False)
    ftp.quit()
    assert result.checksum is None
    assert (tmp_path / "small.bin").read_bytes() == CONTENT["small.bin"]


# -- resume -----------------------------------------------------------------


def test_resume_continues_an_existing_part(lib, ftpd, tmp_path):
    data = CONTENT["big.bin"]
    (tmp_path / "big.bin.part").write_bytes(data[:1_000_000])
    ftp = login(lib, ftpd)
    result = ftp.download("big.bin", tmp_path / "big.bin")
    ftp.quit()
    assert result.resumed_from == 1_000_000
    assert result.bytes == len(data) - 1_000_000
    assert file_hash(tmp_path / "big.bin") == sha256(data)


def test_resume_false_starts_over(lib, ftpd, tmp_path):
    (tmp_path / "big.bin.part").write_bytes(b"garbage" * 1000)
    ftp = login(lib, ftpd)
    result = ftp.download("big.bin", tmp_path / "big.bin", resume=False)
    ftp.quit()
    assert result.resumed_from == 0
    assert file_hash(tmp_path / "big.bin") == sha256(CONTENT["big.bin"])


class SendFromRest:
    """Send ``data`` from the offset of the client's last REST command."""

    def __init__(self, data):
        self.data = data

    def run(self, srv):
        rest = next(int(c[5:]) for c in reversed(srv.commands) if c.startswith("REST"))
        srv._data.settimeout(10)
        srv._data.sendall(self.data[rest:])


def test_resume_after_a_data_connection_reset(lib, tmp_path):
    data = os.urandom(300_000)
    half = 120_000
    script = [
        (None, ["220 hello"]),
        ("USER", ["331 password please"]),
        ("PASS", ["230 in"]),
        ("FEAT", ["211-Features:", " SIZE", " REST STREAM", "211 End"]),
        ("PWD", ['257 "/" is the current directory']),
        ("TYPE I", ["200 binary"]),
        ("SIZE f.bin", [f"213 {len(data)}"]),
        ("PASV", [Pasv()]),
        (
            "RETR f.bin",
            [
                "150 here",
                Accept(),
                DataSend(data[:half]),
                Sleep(0.3),
                DataReset(),
                "426 reset",
            ],
        ),
        ("NOOP", ["200 ok"]),
        ("PASV", [Pasv()]),
        ("REST", ["350 restarting"]),
        (
            "RETR f.bin",
            ["150 the rest", Accept(), SendFromRest(data), DataClose(), "226 done"],
        ),
    ]
    with FaultServer(script) as srv:
        ftp = lib.FTP(timeout=TIMEOUT)
        ftp.connect(srv.host, srv.port)
        ftp.login("u", "p")
        result = ftp.download("f.bin", tmp_path / "f.bin")
        ftp.quit()
    assert file_hash(tmp_path / "f.bin") == sha256(data)
    assert result.bytes == len(data)


def test_resume_after_the_server_is_killed_and_restarted(lib, root, tmp_path):
    from vsftpd import Vsftpd, free_port

    data = os.urandom(3 << 20)
    (root / "k.bin").write_bytes(data)
    srv = Vsftpd(root, port=free_port()).start()
    try:
        ftp = login(lib, srv)
        seen = []

        def restart():
            srv.stop()
            time.sleep(0.3)
            srv.start()

        restarter = threading.Thread(target=restart)

        def progress(done, total):
            seen.append(done)
            if done > 500_000 and not restarter.is_alive() and not restarter.ident:
                restarter.start()

        result = ftp.download(
            "k.bin",
            tmp_path / "k.bin",
            rate_limit=4 << 20,
            progress=progress,
            retries=5,
        )
        restarter.join()
    finally:
        srv.stop()
    assert file_hash(tmp_path / "k.bin") == sha256(data)
    assert restarter.ident is not None
    assert result.bytes == len(data)


def _interrupt_after(seconds):
    timer = threading.Timer(seconds, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    return timer


def test_ctrl_c_keeps_the_part_and_a_second_call_finishes(lib, ftpd, tmp_path):
    data = CONTENT["big.bin"]
    ftp = login(lib, ftpd)
    timer = _interrupt_after(0.5)
    with pytest.raises(KeyboardInterrupt):
        ftp.download("big.bin", tmp_path / "big.bin", rate_limit=1 << 20)
    timer.join()
    part = tmp_path / "big.bin.part"
    assert not (tmp_path / "big.bin").exists()
    assert 0 < part.stat().st_size < len(data)
    # The same connection is still usable, and resumes.
    result = ftp.download("big.bin", tmp_path / "big.bin")
    ftp.quit()
    assert result.resumed_from > 0
    assert file_hash(tmp_path / "big.bin") == sha256(data)


def test_ctrl_c_with_four_connections_resumes_the_holes(lib, ftpd, tmp_path):
    data = CONTENT["big.bin"]
    ftp = login(lib, ftpd)
    timer = _interrupt_after(0.5)
    with pytest.raises(KeyboardInterrupt):
        ftp.download("big.bin", tmp_path / "big.bin", connections=4, rate_limit=1 << 20)
    timer.join()
    assert not (tmp_path / "big.bin").exists()
    assert (tmp_path / "big.bin.part.ranges").exists()
    result = ftp.download("big.bin", tmp_path / "big.bin", connections=4)
    ftp.quit()
    assert 0 < result.resumed_from < len(data)
    assert result.bytes == len(data) - result.resumed_from
    assert file_hash(tmp_path / "big.bin") == sha256(data)
    assert not (tmp_path / "big.bin.part.ranges").exists()


# -- progress and rate ------------------------------------------------------


def test_progress_reports_and_ends_with_the_total(lib, ftpd, tmp_path):
    calls = []
    ftp = login(lib, ftpd)
    ftp.download(
        "big.bin", tmp_path / "big.bin", progress=lambda d, t: calls.append((d, t))
    )
    ftp.quit()
    size = len(CONTENT["big.bin"])
    assert calls[-1] == (size, size)
    assert all(t == size for _, t in calls)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_raising_progress_aborts_keeps_part_and_propagates(lib, ftpd, tmp_path):
    class Stop(Exception):
        pass

    def progress(done, total):
        raise Stop

    ftp = login(lib, ftpd)
    with pytest.raises(Stop):
        ftp.download(
            "big.bin", tmp_path / "big.bin", progress=progress, rate_limit=2 << 20
        )
    assert not (tmp_path / "big.bin").exists()
    assert (tmp_path / "big.bin.part").exists()
    assert ftp.size("big.bin") == len(CONTENT["big.bin"])  # still in step
    ftp.quit()


def test_progress_true_is_silent_without_a_terminal(lib, ftpd, tmp_path, capsys):
    ftp = login(lib, ftpd)
    ftp.download("small.bin", tmp_path / "small.bin", progress=True)
    ftp.quit()
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("connections", [1, 2])
def test_rate_limit_paces_the_transfer(lib, ftpd, tmp_path, connections):
    rate = 4 << 20
    ftp = login(lib, ftpd)
    result = ftp.download(
        "big.bin", tmp_path / "big.bin", rate_limit=rate, connections=connections
    )
    ftp.quit()
    # The pacing itself (not a benchmark): never faster than the limit
    # allows, over the whole transfer, minus one block of slack.
    assert result.seconds >= 0.9 * result.bytes / rate
    assert file_hash(tmp_path / "big.bin") == sha256(CONTENT["big.bin"])


def test_bad_arguments(lib, ftpd, tmp_path):
    ftp = login(lib, ftpd)
    with pytest.raises(ValueError):
        ftp.download("small.bin", tmp_path / "x", connections=0)
    with pytest.raises(ValueError):
        ftp.download("small.bin", tmp_path / "x", rate_limit=0)
    with pytest.raises(ValueError):
        ftp.download("", None)
    ftp.quit()


def test_readme_example_runs(tmp_path, capsys):
    import warnings
    from pathlib import Path

    repo = Path(__file__).resolve().parent.parent
    readme = (repo / "README.md").read_text()
    section = readme[readme.index("## Whole-file transfers") :]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    os.chdir(tmp_path)  # the example changes directory; go back to the checkout
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # pyftpdlib's asyncore
            exec(compile(code, "README.md", "exec"), {})  # noqa: S102 - the README example
    finally:
        os.chdir(repo)
    out = capsys.readouterr().out
    assert "52428800 4 " in out
    assert "TransferResult(remote='copy.bin'" in out


# -- more servers and settings ----------------------------------------------


def test_ipv6_uses_epsv(lib, ftpd6, tmp_path):
    ftp = login(lib, ftpd6)
    result = ftp.download("big.bin", tmp_path / "big.bin", connections=2)
    ftp.quit()
    assert result.connections == 2
    assert file_hash(tmp_path / "big.bin") == sha256(CONTENT["big.bin"])


def test_implicit_ftps_vsftpd(lib, root, tmp_path):
    from vsftpd import Vsftpd

    with Vsftpd(root, tls="implicit") as srv:
        ftp = lib.FTP_TLS(timeout=TIMEOUT, context=srv.client_context(), implicit=True)
        ftp.connect(srv.host, srv.port)
        ftp.login(srv.user, srv.password)
        ftp.prot_p()
        result = ftp.download("big.bin", tmp_path / "big.bin", connections=2)
        ftp.quit()
    assert result.connections == 2
    assert file_hash(tmp_path / "big.bin") == sha256(CONTENT["big.bin"])


class NoSizeMixin:
    """Neither SIZE nor MLST: the size is unknown before the transfer."""

    def ftp_SIZE(self, path):
        self.respond("502 SIZE not implemented.")

    def ftp_MLST(self, path):
        self.respond("502 MLST not implemented.")


def test_without_size_falls_back_to_one_connection(lib, server_with, tmp_path):
    srv = server_with(NoSizeMixin)
    ftp = login(lib, srv)
    result = ftp.download("big.bin", tmp_path / "big.bin", connections=4)
    ftp.quit()
    assert result.connections == 1
    assert file_hash(tmp_path / "big.bin") == sha256(CONTENT["big.bin"])


def test_latin1_names(lib, root, tmp_path):
    data = os.urandom(400_000)
    name = "café-été.bin"
    (root / name).write_bytes(data)
    with PyftpdlibThreaded(root, encoding="latin-1") as srv:
        ftp = login(lib, srv, encoding="latin-1")
        ftp.download(name, tmp_path / "x.bin", connections=2)
        ftp.upload(tmp_path / "x.bin", "çà.bin", atomic=True)
        ftp.quit()
    assert (tmp_path / "x.bin").read_bytes() == data
    assert (root / "çà.bin").read_bytes() == data


def test_unsupported_encoding_is_value_error(lib, ftpd, tmp_path):
    ftp = login(lib, ftpd)
    ftp.encoding = "utf-16"
    with pytest.raises(ValueError, match="encoding"):
        ftp.download("small.bin", tmp_path / "small.bin")
    ftp.close()


def test_progress_bar_text():
    from rftplib._progress import Bar, human

    class Tty(io.StringIO):
        def isatty(self):
            return True

    stream = Tty()
    bar = Bar("f.bin", stream=stream, width=10)
    assert bar.line(0, 1000, now=bar.start).startswith("f.bin [----------]   0.0%")
    text = bar.line(500, 1000, now=bar.start + 1.0)
    assert "[#####-----]  50.0%" in text and "500 B/s" in text and "ETA 00:01" in text
    assert "1.0 MiB" == human(1 << 20)
    bar(1000, 1000)
    bar.close()
    assert stream.getvalue().startswith("\rf.bin [##########] 100.0%")
    assert stream.getvalue().endswith("\n")
    unknown = Bar("x", stream=Tty())
    unknown.line(0, None, now=10.0)
    assert unknown.line(3 << 20, None, now=11.0) == "x 3.0 MiB 3.0 MiB/s"


class FlakyRetrMixin:
    """The first RETR of each server is answered 425 (transient)."""

    failures = 1

    def ftp_RETR(self, file):
        cls = type(self)
        if cls.failures > 0:
            cls.failures -= 1
            self.respond("425 Can't open data connection (try again).")
            return
        super().ftp_RETR(file)


def test_transient_reply_is_retried(lib, root, tmp_path):
    mixin = type("Flaky", (FlakyRetrMixin,), {"failures": 1})
    with PyftpdlibThreaded(root, handler_mixins=(mixin,)) as srv:
        ftp = login(lib, srv)
        result = ftp.download("big.bin", tmp_path / "big.bin")
        ftp.quit()
    assert result.bytes == len(CONTENT["big.bin"])
    assert file_hash(tmp_path / "big.bin") == sha256(CONTENT["big.bin"])


def test_no_retries_raises_the_transient_error(lib, root, tmp_path):
    mixin = type("Flaky", (FlakyRetrMixin,), {"failures": 1})
    with PyftpdlibThreaded(root, handler_mixins=(mixin,)) as srv:
        ftp = login(lib, srv)
        with pytest.raises(lib.error_temp, match="425"):
            ftp.download("big.bin", tmp_path / "big.bin", retries=0)
        assert ftp.pwd() == "/"  # still in step
        ftp.quit()
    assert not (tmp_path / "big.bin").exists()


@pytest.mark.parametrize("connections", [1, 2])
def test_active_mode(lib, ftpd, tmp_path, connections):
    ftp = login(lib, ftpd)
    ftp.set_pasv(False)
    result = ftp.download("big.bin", tmp_path / "big.bin", connections=connections)
    ftp.upload(tmp_path / "big.bin", "back.bin", atomic=True)
    assert ftp.size("back.bin") == len(CONTENT["big.bin"])
    ftp.quit()
    assert result.connections == connections
    assert file_hash(tmp_path / "big.bin") == sha256(CONTENT["big.bin"])


def test_active_mode_ftps_vsftpd(lib, vsftpd_tls, tmp_path):
    ftp = login(lib, vsftpd_tls, cls=lib.FTP_TLS, context=vsftpd_tls.client_context())
    ftp.prot_p()
    ftp.set_pasv(False)
    result = ftp.download("big.bin", tmp_path / "big.bin", connections=2)
    ftp.quit()
    assert result.connections == 2
    assert file_hash(tmp_path / "big.bin") == sha256(CONTENT["big.bin"])
