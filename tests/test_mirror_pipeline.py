"""FTP.mirror()'s pipelined downloads on each of the four servers.

Every server gets the next file's PASV+RETR once the current file's data is
in; vsftpd, which reads no command while a transfer runs, gets it as soon as
the current file's data connection is up (before its 150 is read). A tap on
the control connection shows which: it holds each 150 reply back a little,
so that a request sent before the previous transfer's 150 was seen is
recorded ahead of it.
"""

from __future__ import annotations

import _thread
import contextlib
import os
import random
import socket
import threading
import time

import pytest
import rftplib
from proftpd import Proftpd
from pureftpd import PureFtpd
from servers import PyftpdlibThreaded
from test_mirror import SlowVsftpd, login, tree_digest
from vsftpd import Vsftpd

SERVERS = ["vsftpd", "pyftpdlib", "proftpd", "pure-ftpd"]
HOLD_150 = 0.03  # seconds the tap holds each 150 reply
TRANSFERS = ("RETR", "LIST", "MLSD")


class RefusesSecret:
    """pyftpdlib (running as root, so file modes do not stop it) refusing
    RETR of files named ``*secret*`` as a server refuses an unreadable file."""

    def ftp_RETR(self, file):
        if "secret" in os.path.basename(file):
            self.respond("550 Permission denied.")
            return None
        return super().ftp_RETR(file)


@contextlib.contextmanager
def serve(kind, root):
    if kind == "vsftpd":
        srv = Vsftpd(root)
    elif kind == "pyftpdlib":
        srv = PyftpdlibThreaded(root, handler_mixins=(RefusesSecret,))
    elif kind == "proftpd":
        srv = Proftpd(root, tls=None)
    else:
        srv = PureFtpd(root, tls=None)
    with srv:
        yield srv


class ControlTap:
    """A proxy for control connections (data connections go straight to the
    server, whose 227 it leaves alone) that records the lines both ways in
    the order it passes them on, holding each 150 (or 125) reply back
    HOLD_150 s."""

    def __init__(self, srv):
        self.srv = srv
        self.host, self.user, self.password = "127.0.0.1", srv.user, srv.password
        self.events = []
        self.lock = threading.Lock()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets = [self.listener]
        threading.Thread(target=self._accept, daemon=True).start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for s in self.sockets:
            with contextlib.suppress(OSError):
                s.close()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection((self.srv.host, self.srv.port))
            self.sockets += [client, upstream]
            threading.Thread(
                target=self._pipe, args=(client, upstream, "C"), daemon=True
            ).start()
            threading.Thread(
                target=self._pipe, args=(upstream, client, "S"), daemon=True
            ).start()

    def _pipe(self, src, dst, who):
        f = src.makefile("rb")
        try:
            for line in f:
                if who == "S" and line[:3] in (b"125", b"150"):
                    time.sleep(HOLD_150)
                with self.lock:
                    self.events.append((who, line.decode("utf-8", "replace").strip()))
                dst.sendall(line)
        except OSError:
            pass
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)

    def early_requests(self):
        """PASVs sent while a transfer requested before them had no answer
        yet passed on (neither its 150/125 nor a refusal): requests queued
        behind a transfer still starting. Replies are matched to commands
        in order, as FTP sends them."""
        with self.lock:
            events = list(self.events)
        queue = []  # [verb, answered] per command awaiting its final reply
        early = 0
        for who, line in events:
            if who == "C":
                verb = line.split(" ", 1)[0].upper()
                if verb == "PASV" and any(v in TRANSFERS and not a for v, a in queue):
                    early += 1
                queue.append([verb, False])
            elif queue and line[:3].isdigit() and line[3:4] == " ":
                queue[0][1] = True
                if not line.startswith("1"):
                    queue.pop(0)
        return early

    def retrs(self):
        with self.lock:
            return [
                line[5:]
                for who, line in self.events
                if who == "C" and line.startswith("RETR ")
            ]


def small_tree(root, count=24):
    rng = random.Random(8)
    dirs = ["a", "b c", "ü dir"]
    for d in dirs:
        (root / d).mkdir(parents=True)
    for i in range(count):
        size = 0 if i == 5 else rng.randrange(1, 40_000)
        (root / dirs[i % 3] / f"f{i:02d}.bin").write_bytes(rng.randbytes(size))
    return root


@pytest.mark.parametrize("kind", SERVERS)
def test_pipelined_mirror_with_a_refused_file_midway(kind, root, tmp_path):
    tree = small_tree(root / "tree")
    secret = tree / "b c" / "f10 secret.bin"
    secret.write_bytes(os.urandom(3000))
    with serve(kind, root) as srv:
        if kind != "pyftpdlib":
            secret.chmod(0o600)
            os.chown(secret, 0, 0)
        with ControlTap(srv) as tap, login(tap) as ftp:
            result = ftp.mirror("tree", tmp_path / "copy", connections=1)
            early = tap.early_requests()
            again = ftp.mirror("tree", tmp_path / "copy", connections=1)
            assert ftp.voidcmd("NOOP").startswith("200")
        retrs = tap.retrs()
    # The refused file is reported, in the middle of the run, and the rest lands.
    assert [p for p, _ in result.failed] == ["b c/f10 secret.bin"]
    assert result.failed[0][1].startswith("550"), result.failed
    assert len(result.transferred) == 24
    names = [r.rsplit("/", 1)[-1] for r in retrs]
    assert 0 < names.index("f10 secret.bin") < len(names) - 5
    # Only vsftpd gets requests queued behind a starting transfer.
    if kind == "vsftpd":
        assert early >= 12, early
    else:
        assert early == 0
    # The second run has nothing to do but the same refusal.
    assert again.transferred == []
    assert [p for p, _ in again.failed] == ["b c/f10 secret.bin"]
    assert not (tmp_path / "copy" / "b c" / "f10 secret.bin").exists()
    secret.unlink()
    assert tree_digest(tmp_path / "copy") == tree_digest(tree)


def test_ctrl_c_with_the_next_file_queued_on_vsftpd(root, tmp_path):
    """Stopped mid-file with the next request queued behind it: the user's
    connection is brought back in step, and a rerun completes."""
    (root / "tree").mkdir()
    for i in range(4):
        (root / "tree" / f"big{i}.bin").write_bytes(os.urandom(300_000))
    interrupted = threading.Event()

    def progress(path, done, total, files_done, files_total):
        if done > 100_000 and not interrupted.is_set():
            interrupted.set()
            _thread.interrupt_main()

    with SlowVsftpd(root) as srv, login(srv) as ftp:
        with pytest.raises(KeyboardInterrupt):
            ftp.mirror("tree", tmp_path / "copy", connections=1, progress=progress)
        assert ftp.voidcmd("NOOP").startswith("200")
    # A later file resumes too: its request, queued ahead, carries REST.
    later = (root / "tree" / "big2.bin").read_bytes()
    (tmp_path / "copy" / "big2.bin.part").write_bytes(later[:123_456])
    parts = sum(p.stat().st_size for p in (tmp_path / "copy").glob("*.part"))
    with Vsftpd(root) as srv, ControlTap(srv) as tap, login(tap) as ftp:
        result = ftp.mirror("tree", tmp_path / "copy", connections=1)
        assert result.failed == [] and len(result.transferred) == 4
        assert result.bytes == 4 * 300_000 - parts
        assert tap.early_requests() > 0
        assert ftp.voidcmd("NOOP").startswith("200")
    assert tree_digest(tmp_path / "copy") == tree_digest(root / "tree")


def test_a_vsftpd_banner_of_its_own_keeps_the_plain_pipeline(root, tmp_path):
    """A server that does not name itself vsftpd is not assumed to be one."""
    tree = small_tree(root / "tree", 9)
    with (
        Vsftpd(root, config={"ftpd_banner": "Welcome"}) as srv,
        ControlTap(srv) as tap,
        login(tap) as ftp,
    ):
        assert ftp.getwelcome() == "220 Welcome"
        result = ftp.mirror("tree", tmp_path / "copy", connections=1)
        assert tap.early_requests() == 0
    assert result.failed == [] and len(result.transferred) == 9
    assert tree_digest(tmp_path / "copy") == tree_digest(tree)


def test_fail_fast_with_the_next_file_queued_on_vsftpd(root, tmp_path):
    """fail_fast on a refused file whose successor is already requested:
    the refusal is raised and the user's connection is in step."""
    tree = small_tree(root / "tree", 12)
    secret = tree / "b c" / "f04 secret.bin"
    secret.write_bytes(b"s" * 5000)
    with Vsftpd(root) as srv:
        secret.chmod(0o600)
        os.chown(secret, 0, 0)
        with ControlTap(srv) as tap, login(tap) as ftp:
            with pytest.raises(rftplib.error_perm, match="^550.*f04 secret.bin"):
                ftp.mirror("tree", tmp_path / "copy", connections=1, fail_fast=True)
            assert tap.early_requests() > 0
            assert ftp.voidcmd("NOOP").startswith("200")
            assert ftp.nlst("tree")
