"""FTP.mirror(): whole trees in both directions against real servers
(pyftpdlib with MLSD, vsftpd with LIST only), checked byte for byte.

The faults real servers will not produce on demand come from pyftpdlib
handler mixins: a file whose transfer breaks in the middle, and a slow one
to interrupt.
"""

from __future__ import annotations

import _thread
import hashlib
import os
import random
import subprocess
import sys
import threading
from pathlib import Path
from typing import ClassVar

import pytest
import rftplib
from servers import PyftpdlibThreaded
from support import TIMEOUT
from vsftpd import Vsftpd

# Directory and file names real users have: spaces (leading, trailing, double),
# UTF-8, leading dashes, glob characters, "->", hidden names.
DIR_NAMES = [
    "plain",
    "with  space",
    "ünïcödé 文件",
    "-leading dash",
    "a.b",
    "br[ack]et*?",
    "x -> y",
    " leading",
    ".hidden",
    "trailing ",
]
FILE_PREFIXES = ["", "-", "sp ace ", "ü", "x-", "[b]*", " "]
FILE_SUFFIXES = [".bin", " end.txt", ".dat", ""]


def make_tree(root, count, seed=1):
    """``count`` files of 0-2 KiB in 40 nested directories (and an empty one)."""
    rng = random.Random(seed)
    dirs = []
    for i in range(20):
        name = DIR_NAMES[i % len(DIR_NAMES)]
        top = name if i < len(DIR_NAMES) else f"{name}{i:02d}"
        dirs += [top, f"{top}/sub -{i}"]
    for d in dirs:
        (root / d).mkdir(parents=True, exist_ok=True)
    (root / "empty dir").mkdir(exist_ok=True)
    for j in range(count):
        name = f"{FILE_PREFIXES[j % len(FILE_PREFIXES)]}f{j:04d}{FILE_SUFFIXES[j % 4]}"
        (root / dirs[j % len(dirs)] / name).write_bytes(
            rng.randbytes(rng.randrange(0, 2048))
        )
    return root


def tree_digest(root):
    """sha256 over every relative path (directories too) and file content."""
    h = hashlib.sha256()
    root = Path(root)
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if p.is_dir():
            h.update(b"D" + rel.encode() + b"\0")
        else:
            h.update(
                b"F" + rel.encode() + b"\0" + hashlib.sha256(p.read_bytes()).digest()
            )
    return h.hexdigest()


def files_of(root):
    root = Path(root)
    return sorted(
        p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()
    )


def login(srv, cls=None, **kwargs):
    ftp = (cls or rftplib.FTP)(timeout=TIMEOUT, **kwargs)
    ftp.connect(srv.host, srv.port)
    ftp.login(srv.user, srv.password)
    return ftp


class LimitedVsftpd(Vsftpd):
    """vsftpd that admits two sessions per client address."""

    def _config(self):
        text = super()._config()
        assert "max_per_ip=200\n" in text
        return text.replace("max_per_ip=200\n", "max_per_ip=2\n")


def vsftpd_user_owns(path):
    """Files made after vsftpd started belong to root: give them to its user."""
    import pwd

    account = pwd.getpwnam("rftp")
    for dirpath, dirnames, filenames in os.walk(path):
        for name in [dirpath] + [
            os.path.join(dirpath, n) for n in dirnames + filenames
        ]:
            os.lchown(name, account.pw_uid, account.pw_gid)


# -- whole trees, both directions ---------------------------------------------


def test_download_from_pyftpdlib_then_nothing_to_do(ftpd, root, tmp_path):
    make_tree(root / "tree", 500)
    with login(ftpd) as ftp:
        result = ftp.mirror("tree", tmp_path / "copy")
        assert len(result.transferred) == 500
        assert result.failed == [] and result.deleted == []
        assert tree_digest(tmp_path / "copy") == tree_digest(root / "tree")
        assert result.bytes == sum(
            p.stat().st_size for p in (root / "tree").rglob("*") if p.is_file()
        )
        again = ftp.mirror("tree", tmp_path / "copy")
        assert again.transferred == [] and again.failed == []
        assert len(again.skipped) == 500
        assert again.bytes == 0
        # The user's connection is still in step.
        assert ftp.pwd() == "/"


def test_download_2000_files_from_vsftpd_list_only(root, tmp_path):
    make_tree(root / "tree", 2000, seed=2)
    with Vsftpd(root) as srv, login(srv) as ftp:
        result = ftp.mirror("tree", tmp_path / "copy", connections=4)
        assert result.failed == []
        assert len(result.transferred) == 2000
        assert tree_digest(tmp_path / "copy") == tree_digest(root / "tree")
        # LIST gives minutes; the copies carry the listed time, so they match.
        again = ftp.mirror("tree", tmp_path / "copy", newer_only=False)
        assert again.transferred == [] and len(again.skipped) == 2000


def test_upload_2000_files_to_vsftpd_then_nothing_to_do(root, tmp_path):
    local = make_tree(tmp_path / "local", 2000, seed=3)
    with Vsftpd(root) as srv, login(srv) as ftp:
        result = ftp.mirror(local, "up/loaded", upload=True)
        assert result.failed == []
        assert len(result.transferred) == 2000
        assert tree_digest(root / "up" / "loaded") == tree_digest(local)
        # vsftpd sets times with MDTM: equal even without newer_only.
        again = ftp.mirror(local, "up/loaded", upload=True, newer_only=False)
        assert again.transferred == [] and len(again.skipped) == 2000
    # No temporary upload names are left behind.
    assert not [p for p in (root / "up").rglob("*rftplib-part*")]


def test_upload_to_pyftpdlib_sets_times_so_a_strict_rerun_skips(ftpd, root, tmp_path):
    local = make_tree(tmp_path / "local", 300, seed=4)
    with login(ftpd) as ftp:
        result = ftp.mirror(local, "up", upload=True, connections=3)
        assert result.failed == [] and len(result.transferred) == 300
        assert tree_digest(root / "up") == tree_digest(local)
        # MFMT gave every file the local time: equal even without newer_only.
        again = ftp.mirror(local, "up", upload=True, newer_only=False)
        assert again.transferred == []
        one = files_of(local)[0]
        assert int((root / "up" / one).stat().st_mtime) == int(
            (local / one).stat().st_mtime
        )


def test_changed_files_are_transferred_again(ftpd, root, tmp_path):
    make_tree(root / "tree", 50)
    with login(ftpd) as ftp:
        ftp.mirror("tree", tmp_path / "copy")
        changed = files_of(root / "tree")[7]
        (root / "tree" / changed).write_bytes(b"new content, new size")
        result = ftp.mirror("tree", tmp_path / "copy")
        assert result.transferred == [changed]
        assert (tmp_path / "copy" / changed).read_bytes() == b"new content, new size"


def test_mirror_over_ftps_with_prot_p(ftpd_tls, root, tmp_path, tls_ca):
    make_tree(root / "tree", 60)
    ftps = rftplib.FTP_TLS(context=tls_ca.client_context(), timeout=TIMEOUT)
    with ftps:
        ftps.connect(ftpd_tls.host, ftpd_tls.port)
        ftps.login(ftpd_tls.user, ftpd_tls.password)
        ftps.prot_p()
        result = ftps.mirror("tree", tmp_path / "copy", connections=3)
        assert result.failed == [] and len(result.transferred) == 60
        assert tree_digest(tmp_path / "copy") == tree_digest(root / "tree")
        up = ftps.mirror(tmp_path / "copy", "back", upload=True, connections=3)
        assert len(up.transferred) == 60
    assert tree_digest(root / "back") == tree_digest(root / "tree")


def test_mirror_over_vsftpd_explicit_tls_with_session_reuse(root, tmp_path):
    make_tree(root / "tree", 60, seed=6)
    with Vsftpd(root, tls="explicit") as srv:
        ftps = rftplib.FTP_TLS(context=srv.client_context(), timeout=TIMEOUT)
        with ftps:
            ftps.connect(srv.host, srv.port)
            ftps.login(srv.user, srv.password)
            ftps.prot_p()
            result = ftps.mirror("tree", tmp_path / "copy", connections=3)
            assert result.failed == [] and len(result.transferred) == 60
            up = ftps.mirror(tmp_path / "copy", "back", upload=True, connections=3)
            assert up.failed == [] and len(up.transferred) == 60
    assert tree_digest(tmp_path / "copy") == tree_digest(root / "tree")
    assert tree_digest(root / "back") == tree_digest(root / "tree")


# -- options -------------------------------------------------------------------


def test_delete_downloading_removes_local_extras(ftpd, root, tmp_path):
    make_tree(root / "tree", 40)
    copy = tmp_path / "copy"
    with login(ftpd) as ftp:
        ftp.mirror("tree", copy)
        (copy / "stray.txt").write_bytes(b"x")
        (copy / "old dir" / "deeper").mkdir(parents=True)
        (copy / "old dir" / "deeper" / "f").write_bytes(b"y")
        kept = ftp.mirror("tree", copy)
        assert kept.deleted == [] and (copy / "stray.txt").exists()
        result = ftp.mirror("tree", copy, delete=True)
        assert result.deleted == [
            "old dir/deeper/f",
            "old dir/deeper",
            "stray.txt",
            "old dir",
        ]
        assert tree_digest(copy) == tree_digest(root / "tree")


def test_delete_uploading_removes_remote_extras(ftpd, root, tmp_path):
    local = make_tree(tmp_path / "local", 40)
    with login(ftpd) as ftp:
        ftp.mirror(local, "up", upload=True)
        (root / "up" / "extra dir").mkdir()
        (root / "up" / "extra dir" / "-x").write_bytes(b"x")
        (root / "up" / "plain" / "stray").write_bytes(b"x")
        result = ftp.mirror(local, "up", upload=True, delete=True)
        assert sorted(result.deleted) == ["extra dir", "extra dir/-x", "plain/stray"]
        assert result.transferred == []
    assert tree_digest(root / "up") == tree_digest(local)


def test_include_and_exclude(ftpd, root, tmp_path):
    make_tree(root / "tree", 200)
    with login(ftpd) as ftp:
        result = ftp.mirror(
            "tree", tmp_path / "copy", include=["*.txt", "-*"], exclude="a.b*"
        )
    got = files_of(tmp_path / "copy")
    want = [
        f
        for f in files_of(root / "tree")
        if (f.endswith(".txt") or f.rsplit("/", 1)[-1].startswith("-"))
        and not f.startswith("a.b")
    ]
    assert got == want and len(want) > 50
    assert sorted(result.transferred) == want
    # An excluded directory is not made either.
    assert not any(p.name.startswith("a.b") for p in (tmp_path / "copy").iterdir())


def test_bad_patterns_and_arguments(ftpd, tmp_path):
    with login(ftpd) as ftp:
        with pytest.raises(ValueError, match="pattern"):
            ftp.mirror("", tmp_path, include=["[abc"])
        with pytest.raises(ValueError):
            ftp.mirror("", tmp_path, connections=0)
        with pytest.raises(TypeError):
            ftp.mirror("", tmp_path, include=[3])
        with pytest.raises(TypeError):
            ftp.mirror("", tmp_path, progress=5)


def test_dry_run_changes_nothing_either_way(ftpd, root, tmp_path):
    make_tree(root / "tree", 30)
    with login(ftpd) as ftp:
        result = ftp.mirror("tree", tmp_path / "copy", dry_run=True)
        assert len(result.transferred) == 30
        assert not (tmp_path / "copy").exists()
        local = make_tree(tmp_path / "local", 10, seed=9)
        (root / "tree" / "remote only").write_bytes(b"z")
        before = tree_digest(root / "tree")
        up = ftp.mirror(local, "tree", upload=True, delete=True, dry_run=True)
        assert len(up.transferred) == 10
        assert "remote only" in up.deleted
        assert tree_digest(root / "tree") == before


def test_a_missing_source_raises(ftpd, tmp_path):
    with login(ftpd) as ftp:
        with pytest.raises(rftplib.error_perm):
            ftp.mirror("no such dir", tmp_path / "copy")
        with pytest.raises(OSError):
            ftp.mirror(tmp_path / "no such local dir", "x", upload=True)
    assert not (tmp_path / "copy").exists()


def test_a_missing_source_on_vsftpd_raises_though_list_says_nothing(root, tmp_path):
    with Vsftpd(root) as srv, login(srv) as ftp, pytest.raises(rftplib.error_perm):
        ftp.mirror("no such dir", tmp_path / "copy", delete=True)


def test_progress_reports_paths_bytes_and_files(ftpd, root, tmp_path):
    make_tree(root / "tree", 100)
    calls = []
    with login(ftpd) as ftp:
        result = ftp.mirror(
            "tree", tmp_path / "copy", progress=lambda *a: calls.append(a)
        )
    assert calls, "called at least once, at the end"
    path, bytes_done, bytes_total, files_done, files_total = calls[-1]
    assert (bytes_done, bytes_total, files_done, files_total) == (
        result.bytes,
        result.bytes,
        100,
        100,
    )
    assert path in result.transferred
    assert all(c[1] <= c[2] and c[3] <= c[4] for c in calls)


def test_progress_true_is_quiet_off_a_terminal(ftpd, root, tmp_path, capsys):
    make_tree(root / "tree", 10)
    with login(ftpd) as ftp:
        ftp.mirror("tree", tmp_path / "copy", progress=True)
    assert capsys.readouterr().err == ""


# -- limits and failures -------------------------------------------------------


def test_vsftpd_two_sessions_per_client_with_eight_connections(root, tmp_path):
    make_tree(root / "tree", 200, seed=5)
    with LimitedVsftpd(root) as srv, login(srv) as ftp:
        result = ftp.mirror("tree", tmp_path / "copy", connections=8)
        assert result.failed == []
        assert tree_digest(tmp_path / "copy") == tree_digest(root / "tree")
        up = ftp.mirror(tmp_path / "copy", "back", upload=True, connections=8)
        assert up.failed == [] and len(up.transferred) == 200
        # The user's own session survived the refusals.
        assert ftp.voidcmd("NOOP").startswith("200")
    assert tree_digest(root / "back") == tree_digest(root / "tree")


class BreakingRetr:
    """RETR of any file named ``broken*`` stops after 1000 bytes with an
    error on the server's side (426), every time."""

    def run_as_current_user(self, function, *args, **kwargs):
        result = super().run_as_current_user(function, *args, **kwargs)
        if function == self.fs.open and os.path.basename(args[0]).startswith("broken"):
            return _Breaking(result)
        return result


class _Breaking:
    def __init__(self, f):
        self.f = f
        self.sent = 0
        self.name = f.name
        self.closed = False

    def read(self, n):
        if self.sent >= 1000:
            raise OSError("disk on fire")
        data = self.f.read(min(n, 1000 - self.sent))
        self.sent += len(data)
        return data

    def seek(self, *args):
        return self.f.seek(*args)

    def tell(self):
        return self.f.tell()

    def close(self):
        self.closed = True
        self.f.close()


@pytest.fixture
def breaking_ftpd(root):
    with PyftpdlibThreaded(root, handler_mixins=(BreakingRetr,)) as srv:
        srv._server.handler.use_sendfile = False
        yield srv


def test_a_file_failing_mid_transfer_is_reported_while_the_rest_complete(
    breaking_ftpd, root, tmp_path
):
    tree = make_tree(root / "tree", 100)
    (tree / "plain" / "broken file.bin").write_bytes(os.urandom(50_000))
    with login(breaking_ftpd) as ftp:
        result = ftp.mirror("tree", tmp_path / "copy", retries=1)
        assert [p for p, _ in result.failed] == ["plain/broken file.bin"]
        assert result.failed[0][1].startswith("4"), result.failed
        assert len(result.transferred) == 100
        # Nothing half-done is presented as the file; the part stays to resume.
        assert not (tmp_path / "copy" / "plain" / "broken file.bin").exists()
        assert (tmp_path / "copy" / "plain" / "broken file.bin.part").exists()
        (tree / "plain" / "broken file.bin").unlink()
        (tree / "plain" / "broken file.bin").write_bytes(b"ok")
        (tree / "plain" / "fixed.bin").write_bytes(b"ok")
        after = ftp.mirror("tree", tmp_path / "copy")
        assert after.failed == []


class DropsSessionOnce:
    """The first RETR of each file named ``flaky*`` ends the whole session
    (control connection closed, no reply), as a server restart would."""

    dropped: ClassVar[set] = set()

    def ftp_RETR(self, file):
        name = os.path.basename(file)
        if name.startswith("flaky") and name not in self.dropped:
            self.dropped.add(name)
            self.close()
            return None
        return super().ftp_RETR(file)


def test_a_dropped_session_is_replaced_and_the_file_retried(root, tmp_path):
    tree = make_tree(root / "tree", 50)
    for i in range(3):
        (tree / "plain" / f"flaky{i}.bin").write_bytes(os.urandom(20_000))
    DropsSessionOnce.dropped = set()
    with (
        PyftpdlibThreaded(root, handler_mixins=(DropsSessionOnce,)) as srv,
        login(srv) as ftp,
    ):
        result = ftp.mirror("tree", tmp_path / "copy", connections=3)
        assert result.failed == []
        assert len(result.transferred) == 53
        assert DropsSessionOnce.dropped == {"flaky0.bin", "flaky1.bin", "flaky2.bin"}
    assert tree_digest(tmp_path / "copy") == tree_digest(root / "tree")


def test_fail_fast_raises_the_first_failure(breaking_ftpd, root, tmp_path):
    tree = make_tree(root / "tree", 20)
    (tree / "broken.bin").write_bytes(os.urandom(50_000))
    with login(breaking_ftpd) as ftp:
        with pytest.raises(rftplib.error_temp, match="broken.bin"):
            ftp.mirror("tree", tmp_path / "copy", retries=0, fail_fast=True)
        assert ftp.voidcmd("NOOP").startswith("200")


def test_an_unreadable_file_on_vsftpd_is_reported(root, tmp_path):
    tree = make_tree(root / "tree", 30)
    secret = tree / "plain" / "secret.bin"
    secret.write_bytes(b"s" * 100)
    with Vsftpd(root) as srv:
        secret.chmod(0o600)
        os.chown(secret, 0, 0)
        with login(srv) as ftp:
            result = ftp.mirror("tree", tmp_path / "copy")
    assert result.failed[0][0] == "plain/secret.bin"
    assert result.failed[0][1].startswith("550")
    assert len(result.transferred) == 30


class SlowVsftpd(Vsftpd):
    """vsftpd sending at most 64 KiB/s per session."""

    def _config(self):
        return super()._config() + "local_max_rate=65536\n"


def test_ctrl_c_stops_and_leaves_part_files_to_resume(root, tmp_path):
    data = os.urandom(1_000_000)
    (root / "tree").mkdir()
    (root / "tree" / "big file.bin").write_bytes(data)
    interrupted = threading.Event()

    def progress(path, done, total, files_done, files_total):
        if done > 100_000 and not interrupted.is_set():
            interrupted.set()
            _thread.interrupt_main()

    with SlowVsftpd(root) as srv, login(srv) as ftp:
        with pytest.raises(KeyboardInterrupt):
            ftp.mirror("tree", tmp_path / "copy", progress=progress)
        part = tmp_path / "copy" / "big file.bin.part"
        assert part.exists() and 0 < part.stat().st_size < len(data)
        assert not (tmp_path / "copy" / "big file.bin").exists()
        assert ftp.voidcmd("NOOP").startswith("200")
    with Vsftpd(root) as srv, login(srv) as ftp:
        have = part.stat().st_size
        result = ftp.mirror("tree", tmp_path / "copy")
        assert result.transferred == ["big file.bin"]
        assert result.bytes == len(data) - have, "resumed from the part"
    assert (tmp_path / "copy" / "big file.bin").read_bytes() == data


def test_the_readme_example_runs(tmp_path):
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    section = readme.split("## Mirror\n", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    script = tmp_path / "example.py"
    script.write_text(code)
    proc = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.splitlines()
    assert out[0].startswith(
        "MirrorResult(transferred=4, skipped=0, deleted=0, failed=0"
    )
    assert out[1:] == ["[]", "['docs/new.txt'] ['README']"]


def test_links_are_skipped_not_followed(ftpd, root, tmp_path):
    local = make_tree(tmp_path / "local", 5)
    (local / "link to dir").symlink_to(local / "plain")
    (local / "link to file").symlink_to(next((local / "plain").iterdir()))
    with login(ftpd) as ftp:
        result = ftp.mirror(local, "up", upload=True)
    assert sorted(result.skipped) == ["link to dir", "link to file"]
    assert not (root / "up" / "link to dir").exists()
    assert not (root / "up" / "link to file").exists()
    assert len(result.transferred) == 5


def test_mirror_result_values():
    r = rftplib.MirrorResult(["a"], ["b"], [], [("c", "550 no")], 10, 0.5)
    assert (r.transferred, r.skipped, r.deleted, r.failed, r.bytes, r.seconds) == (
        ["a"],
        ["b"],
        [],
        [("c", "550 no")],
        10,
        0.5,
    )
    assert not r.ok and rftplib.MirrorResult().ok
    assert r == rftplib.MirrorResult(["a"], ["b"], [], [("c", "550 no")], 10, 0.5)
    assert r != rftplib.MirrorResult()
    assert repr(r).startswith(
        "MirrorResult(transferred=1, skipped=1, deleted=0, failed=1"
    )


def test_downloads_are_checked_against_the_servers_hash(root, tmp_path):
    from transfer_servers import HashMixin, WrongHashMixin

    make_tree(root / "tree", 40)
    with PyftpdlibThreaded(root, handler_mixins=(HashMixin,)) as srv, login(srv) as ftp:
        result = ftp.mirror("tree", tmp_path / "good", connections=2)
        assert result.failed == [] and len(result.transferred) == 40
    assert tree_digest(tmp_path / "good") == tree_digest(root / "tree")
    with (
        PyftpdlibThreaded(root, handler_mixins=(WrongHashMixin,)) as srv,
        login(srv) as ftp,
    ):
        bad = ftp.mirror("tree", tmp_path / "bad", connections=2, retries=0)
        # Every non-empty file fails its check and nothing lands, not even a part.
        assert {path for path, _ in bad.failed} == {
            f for f in files_of(root / "tree") if (root / "tree" / f).stat().st_size
        }
        assert all("mismatch" in reason for _, reason in bad.failed)
        assert not [
            p for p in (tmp_path / "bad").rglob("*") if p.is_file() and p.stat().st_size
        ]
        unchecked = ftp.mirror("tree", tmp_path / "bad", verify=False)
        assert unchecked.failed == []
    assert tree_digest(tmp_path / "bad") == tree_digest(root / "tree")


def test_an_exception_in_the_progress_callback_stops_the_run(root, tmp_path):
    data = os.urandom(1_000_000)
    (root / "tree").mkdir()
    (root / "tree" / "big.bin").write_bytes(data)

    class Enough(Exception):
        pass

    def progress(path, done, total, files_done, files_total):
        if done:
            raise Enough

    with SlowVsftpd(root) as srv, login(srv) as ftp:
        with pytest.raises(Enough):
            ftp.mirror("tree", tmp_path / "copy", progress=progress)
        assert (tmp_path / "copy" / "big.bin.part").exists()
        assert not (tmp_path / "copy" / "big.bin").exists()
        assert ftp.voidcmd("NOOP").startswith("200")


def test_active_mode_mirror_both_ways(ftpd, root, tmp_path):
    make_tree(root / "tree", 30)
    with login(ftpd) as ftp:
        ftp.set_pasv(False)
        result = ftp.mirror("tree", tmp_path / "copy", connections=2)
        assert result.failed == [] and len(result.transferred) == 30
        up = ftp.mirror(tmp_path / "copy", "back", upload=True, connections=2)
        assert up.failed == [] and len(up.transferred) == 30
    assert tree_digest(tmp_path / "copy") == tree_digest(root / "tree")
    assert tree_digest(root / "back") == tree_digest(root / "tree")
