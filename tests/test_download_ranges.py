"""FTP.download(connections=N) when the connections run at different speeds:
a connection that runs out of work takes over half of the longest range
still being fetched (work stealing), and the bytes still come out exact,
also when such a download is interrupted and resumed; and the pipelined
sibling sessions (login in one write, PASV+REST+RETR in one write, closed
without ABOR at the end) against every server of the interop tests."""

from __future__ import annotations

import gc
import hashlib
import os
import random
import signal
import warnings
from typing import ClassVar

import pytest
from serverfarm import HUGE_NAME, huge_payload
from servers import PyftpdlibThreaded
from support import TIMEOUT, sha256

# pyftpdlib leaks the file of a RETR whose session closed before the data
# connection came: a sibling session stopped mid-request when the download
# is interrupted (the fixture also collects what is left at the end).
pytestmark = pytest.mark.filterwarnings(
    "ignore:unclosed file <_io.FileIO:ResourceWarning"
)

SIZE = 24 << 20
CONNECTIONS = 4
SHARE = SIZE // CONNECTIONS
SLOW = 3 << 19  # bytes/s (1.5 MiB/s) for the range that starts at 0


def file_hash(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


@pytest.fixture(scope="module")
def payload():
    return random.Random(77).randbytes(SIZE)


class CountFeat:
    feats: ClassVar[list] = []

    def ftp_FEAT(self, line):
        self.feats.append(line)
        return super().ftp_FEAT(line)


class SlowFirstRange:
    """pyftpdlib: the RETR that starts at offset 0 is throttled to SLOW
    while ``slow`` is set; every RETR's offset is recorded in ``starts``."""

    starts: ClassVar[list] = []
    slow = True

    def ftp_RETR(self, file):
        cls = type(self)
        cls.starts.append(self._restart_position)
        self._slow_transfer = cls.slow and self._restart_position == 0
        return super().ftp_RETR(file)


def _slow_dtp():
    """A data channel that, for a transfer ``ftp_RETR`` marked slow, sends
    16 KiB at a time and pauses after each so as to average SLOW."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from pyftpdlib.handlers import DTPHandler

    class SlowWhenAsked(DTPHandler):
        _pause = None

        def _slow(self):
            return getattr(self.cmd_channel, "_slow_transfer", False)

        def use_sendfile(self):
            return not self._slow() and super().use_sendfile()

        def send(self, data):
            if not self._slow():
                return super().send(data)
            n = super().send(data[: 16 << 10])
            if n and self.connected:
                self.del_channel()
                self._pause = self.ioloop.call_later(
                    n / SLOW, self._resume, _errback=self.handle_error
                )
            return n

        def _resume(self):
            self._pause = None
            if self.connected:
                self.add_channel(events=self.ioloop.WRITE)

        def close(self):
            if self._pause is not None and not self._pause.cancelled:
                self._pause.cancel()
            super().close()

    return SlowWhenAsked


@pytest.fixture
def uneven(root, payload):
    """pyftpdlib serving big24.bin, the range from 0 much slower than the
    others: the mixin's class attributes say what happened."""
    (root / "big24.bin").write_bytes(payload)
    mixin = type(
        "Slow", (SlowFirstRange, CountFeat), {"starts": [], "slow": True, "feats": []}
    )
    dtp = _slow_dtp()

    class WithDtp:
        dtp_handler = dtp

    with PyftpdlibThreaded(root, handler_mixins=(mixin, WithDtp)) as srv:
        srv.mixin = mixin
        yield srv
    # pyftpdlib leaks the file of a RETR whose session closed before its
    # data connection came (a sibling session stopped mid-request when the
    # download is interrupted): finalised here, not in some later test.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


def login(lib, srv):
    ftp = lib.FTP(timeout=TIMEOUT)
    ftp.connect(srv.host, srv.port)
    ftp.login(srv.user, srv.password)
    return ftp


def stolen(starts):
    """The RETRs that began inside the slow range [0, SHARE): taken over."""
    return [s for s in starts if 0 < s < SHARE]


def test_a_slow_range_is_taken_over_and_the_bytes_are_exact(
    lib, uneven, payload, tmp_path
):
    ftp = login(lib, uneven)
    result = ftp.download("big24.bin", tmp_path / "big24.bin", connections=CONNECTIONS)
    assert ftp.pwd() == "/"  # the caller's session is in step
    ftp.quit()
    assert file_hash(tmp_path / "big24.bin") == sha256(payload)
    assert result.bytes == SIZE and result.connections == CONNECTIONS
    starts = uneven.mixin.starts
    # One RETR per connection, then more: the fast ones took over parts of
    # the slow one's range.
    assert len(starts) > CONNECTIONS, starts
    assert stolen(starts), starts
    assert not (tmp_path / "big24.bin.part").exists()
    assert not (tmp_path / "big24.bin.part.ranges").exists()


def test_an_interrupted_rebalanced_download_resumes_exactly(
    lib, uneven, payload, tmp_path
):
    target = tmp_path / "big24.bin"
    ftp = login(lib, uneven)
    mixin = uneven.mixin

    def progress(done, total):
        # Stop once a range was split: the state file then holds shrunk
        # and stolen ranges.
        if len(stolen(mixin.starts)) >= 2:
            raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        ftp.download("big24.bin", target, connections=CONNECTIONS, progress=progress)
    assert not target.exists()
    state = (tmp_path / "big24.bin.part.ranges").read_text()
    assert state.startswith("rftplib-ranges 1\n")
    missing = [tuple(map(int, line.split())) for line in state.splitlines()[2:]]
    assert missing and all(0 <= a < b <= SIZE for a, b in missing)
    # What the state file does not list is already right in the .part.
    part = (tmp_path / "big24.bin.part").read_bytes()
    assert len(part) == SIZE
    at = 0
    for a, b in sorted(missing) + [(SIZE, SIZE)]:
        assert part[at:a] == payload[at:a], (at, a)
        at = b
    mixin.slow = False
    before = len(mixin.starts)
    result = ftp.download("big24.bin", target, connections=CONNECTIONS)
    assert ftp.pwd() == "/"
    ftp.quit()
    assert file_hash(target) == sha256(payload)
    assert result.resumed_from == SIZE - sum(b - a for a, b in missing)
    assert result.bytes == SIZE - result.resumed_from
    # Only the missing ranges were asked for again.
    assert all(any(a <= s < b for a, b in missing) for s in mixin.starts[before:])
    assert not (tmp_path / "big24.bin.part.ranges").exists()


def test_ctrl_c_while_ranges_are_split_then_resume(lib, uneven, payload, tmp_path):
    target = tmp_path / "big24.bin"
    ftp = login(lib, uneven)
    mixin = uneven.mixin
    sent = []

    def progress(done, total):
        if stolen(mixin.starts) and not sent:
            sent.append(True)
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(KeyboardInterrupt):
        ftp.download("big24.bin", target, connections=CONNECTIONS, progress=progress)
    assert (tmp_path / "big24.bin.part.ranges").exists()
    mixin.slow = False
    # The same session goes on, and a resumed download over a different
    # number of connections fills exactly the holes.
    result = ftp.download("big24.bin", target, connections=3)
    ftp.quit()
    assert 0 < result.resumed_from < SIZE
    assert file_hash(target) == sha256(payload)


def test_feat_asked_with_the_first_commands_is_kept_for_the_session(
    lib, uneven, tmp_path
):
    uneven.mixin.slow = False
    ftp = login(lib, uneven)
    ftp.download("big24.bin", tmp_path / "a.bin", connections=2)
    assert len(uneven.mixin.feats) == 1
    assert "SIZE" in ftp.feat()
    ftp.download("big24.bin", tmp_path / "b.bin")
    ftp.quit()
    assert len(uneven.mixin.feats) == 1  # asked once, on the caller's session only


# -- the pipelined sibling sessions on every server ----------------------------


@pytest.mark.parametrize("mode", ["plain", "explicit"])
@pytest.mark.parametrize("kind", ["vsftpd", "proftpd", "pureftpd", "pyftpdlib"])
def test_four_connections_on_every_server(lib, server_farm, kind, mode, tmp_path):
    srv = server_farm.get(kind, None if mode == "plain" else mode)
    if mode == "plain":
        ftp = lib.FTP(timeout=TIMEOUT)
    else:
        ftp = lib.FTP_TLS(timeout=TIMEOUT, context=srv.client_context())
    ftp.connect(srv.host, srv.port)
    ftp.login(srv.user, srv.password)
    if mode != "plain":
        ftp.prot_p()
    # From a subdirectory: the sibling sessions start where this one is.
    ftp.cwd("sub")
    result = ftp.download(f"../{HUGE_NAME}", tmp_path / HUGE_NAME, connections=4)
    assert result.connections == 4
    assert file_hash(tmp_path / HUGE_NAME) == sha256(huge_payload())
    # The caller's session is in step and where it was.
    assert ftp.pwd().rstrip("/").endswith("/sub")
    assert ftp.size(f"../{HUGE_NAME}") == len(huge_payload())
    assert ftp.quit().startswith("221")
