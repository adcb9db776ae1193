"""The ``rftp`` command, run as a subprocess against real servers.

pyftpdlib (a thread of this process) for every subcommand and exit status,
vsftpd for FTPS and absolute paths. Bytes are compared by sha256; the
progress bar and the password prompt are checked in a pseudo-terminal.
Runs are few and each checks several things: a process start costs ~0.1 s.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pty
import re
import select
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pytest
from rftplib._rftp_url import UsageError, parse_url
from servers import PyftpdlibThreaded
from support import CONTENT, NON_ASCII_NAME, TOP_LEVEL, sha256


def _find_rftp():
    """The installed console script: beside this interpreter, else on PATH."""
    beside = Path(sys.executable).with_name("rftp")
    if beside.exists():
        return str(beside)
    found = shutil.which("rftp")
    if found is None:
        raise RuntimeError("the rftp console script is not installed: pip install .")
    return found


RFTP = _find_rftp()
USER, PASSWORD = "alice", "Zq7-very-secret-Xw"
RUN_TIMEOUT = 60


@pytest.fixture(scope="module")
def _server(tmp_path_factory):
    with PyftpdlibThreaded(
        tmp_path_factory.mktemp("rftp-idle"), user=USER, password=PASSWORD
    ) as srv:
        yield srv


@pytest.fixture
def srv(_server, root):
    """pyftpdlib serving this test's ``root``: alice (all rights) or anonymous (read)."""
    _server.root = root
    return _server


@pytest.fixture
def home(tmp_path):
    """An empty HOME (no ~/.netrc) for the command."""
    path = tmp_path / "home"
    path.mkdir()
    return path


def url(srv, path="", *, user=USER, password=None):
    cred = ""
    if user:
        cred = user + (f":{password}" if password else "") + "@"
    return f"ftp://{cred}{srv.host}:{srv.port}/{path}"


def env_for(home, password=PASSWORD, **extra):
    env = {k: v for k, v in os.environ.items() if k != "RFTP_PASSWORD"}
    env["HOME"] = str(home)
    if password is not None:
        env["RFTP_PASSWORD"] = password
    env.update(extra)
    return env


def rftp(*args, home, cwd=None, password=PASSWORD, input=None):
    return subprocess.run(
        [RFTP, *map(str, args)],
        capture_output=True,
        env=env_for(home, password),
        cwd=cwd,
        input=input,
        stdin=subprocess.DEVNULL if input is None else None,
        timeout=RUN_TIMEOUT,
        check=False,
    )


def tree_digest(top):
    """{relative path: sha256} of every file under ``top``."""
    top = Path(top)
    return {
        str(p.relative_to(top)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(top.rglob("*"))
        if p.is_file()
    }


def ps_lines():
    return subprocess.run(
        ["ps", "-ww", "-eo", "args"], capture_output=True, text=True, check=True
    ).stdout


def wait_for(predicate, what, timeout=20):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


# -- URLs (in-process: no server involved) ----------------------------------


def test_url_paths_are_read_as_rfc1738():
    t = parse_url("ftp://bob:p%40ss@example.org:2121/pub/a%20b/c%23.bin")
    assert (t.host, t.port, t.user, t.password) == ("example.org", 2121, "bob", "p@ss")
    assert t.path == "pub/a b/c#.bin"  # relative to the login directory
    assert parse_url("ftp://h/%2Fetc/motd").path == "/etc/motd"
    assert parse_url("ftp://h//etc/motd").path == "/etc/motd"
    assert parse_url("ftp://h/a%2Fb").path == "a/b"
    assert parse_url("ftp://h").path == parse_url("ftp://h/").path == ""
    d = parse_url("ftps://[::1]/pub/")
    assert (d.host, d.port, d.path, d.trailing_slash, d.tls) == (
        "::1",
        None,
        "pub",
        True,
        True,
    )
    for bad in ("http://h/x", "ftp:///x", "ftp://h:99999/x", "ftp://h/x?y"):
        with pytest.raises(UsageError):
            parse_url(bad)


def test_rate_limits_read_like_curl():
    from rftplib._rftp_args import rate

    assert rate("2048") == 2048
    assert rate("500k") == rate("500K") == rate("500KiB") == 500 * 1024
    assert rate("10M") == rate("10MB/s") == 10 * 1024**2
    assert rate("1.5G") == 3 * 1024**3 // 2
    for bad in ("fast", "0", "-1k", "10T", ""):
        with pytest.raises(argparse.ArgumentTypeError):
            rate(bad)


# -- help, usage -------------------------------------------------------------


def test_help_version_and_usage_errors(home):
    top = rftp("--help", home=home)
    assert top.returncode == 0
    text = top.stdout.decode()
    for word in (
        "ls",
        "get",
        "put",
        "mirror",
        "cat",
        "rm",
        "mkdir",
        "mv",
        "Exit status",
        "RFTP_PASSWORD",
        "%2F",
        "130",
    ):
        assert word in text
    get_help = rftp("get", "--help", home=home).stdout.decode()
    for option in (
        "--resume",
        "--no-resume",
        "--rate-limit",
        "--retries",
        "--connections",
        "--insecure",
        "--cafile",
        "--implicit",
    ):
        assert option in get_help
    mirror_help = rftp("mirror", "--help", home=home).stdout.decode()
    for option in (
        "-R",
        "--include",
        "--exclude",
        "--delete",
        "--dry-run",
        "--retries",
    ):
        assert option in mirror_help
    version = rftp("--version", home=home)
    assert version.returncode == 0 and version.stdout.startswith(b"rftp ")
    bad = rftp("ls", "http://example.org/x", home=home)
    assert bad.returncode == 2
    assert (
        bad.stderr.decode().strip()
        == "rftp: not an ftp:// or ftps:// URL: 'http://example.org/x'"
    )
    assert rftp("get", "--rate-limit", "fast", "ftp://h/x", home=home).returncode == 2


# -- transfers ---------------------------------------------------------------


def test_get_put_cat_piped(srv, home, tmp_path):
    """Bytes survive both ways; piped, nothing but errors reaches stderr."""
    got = rftp("get", url(srv, "big.bin"), tmp_path, home=home)
    assert got.returncode == 0, got.stderr
    assert got.stdout == b"" and got.stderr == b""  # no bar when not a terminal
    assert sha256((tmp_path / "big.bin").read_bytes()) == sha256(CONTENT["big.bin"])
    assert not (tmp_path / "big.bin.part").exists()

    put = rftp("put", tmp_path / "big.bin", url(srv, "sub/"), home=home)
    assert put.returncode == 0, put.stderr
    assert sha256((srv.root / "sub" / "big.bin").read_bytes()) == sha256(
        CONTENT["big.bin"]
    )

    piped = rftp(
        "put",
        "-",
        url(srv, "sub/from-stdin.bin"),
        home=home,
        input=CONTENT["medium.bin"],
    )
    assert piped.returncode == 0, piped.stderr
    assert sha256((srv.root / "sub/from-stdin.bin").read_bytes()) == sha256(
        CONTENT["medium.bin"]
    )

    (srv.root / "half.bin").write_bytes(CONTENT["big.bin"][:1_000_000])
    resumed = rftp(
        "put", "-v", "--resume", tmp_path / "big.bin", url(srv, "half.bin"), home=home
    )
    assert resumed.returncode == 0, resumed.stderr
    assert b"resumed from byte 1000000" in resumed.stderr
    assert sha256((srv.root / "half.bin").read_bytes()) == sha256(CONTENT["big.bin"])

    parallel = rftp(
        "get", "-v", "-j", "3", url(srv, "big.bin"), tmp_path / "j3.bin", home=home
    )
    assert parallel.returncode == 0, parallel.stderr
    assert b"rftp: get big.bin: 3145735 bytes in " in parallel.stderr
    assert b", 3 connections" in parallel.stderr
    assert sha256((tmp_path / "j3.bin").read_bytes()) == sha256(CONTENT["big.bin"])

    cat = rftp("cat", url(srv, "medium.bin"), home=home)
    assert cat.returncode == 0 and sha256(cat.stdout) == sha256(CONTENT["medium.bin"])
    dash = rftp("get", url(srv, "small.bin"), "-", home=home)
    assert dash.returncode == 0 and dash.stdout == CONTENT["small.bin"]

    # The reader goes away early (rftp cat URL | head -c 10): 141, as SIGPIPE, quietly.
    with subprocess.Popen(
        [RFTP, "cat", url(srv, "big.bin")],
        env=env_for(home),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as proc:
        try:
            assert proc.stdout.read(10) == CONTENT["big.bin"][:10]
            proc.stdout.close()
            err = proc.stderr.read()
            proc.wait(timeout=RUN_TIMEOUT)
        finally:
            proc.kill()
    assert proc.returncode == 141 and err == b""

    # A percent-encoded UTF-8 name, as a browser or curl would write it.
    encoded = urllib.parse.quote(NON_ASCII_NAME)
    assert "%" in encoded
    odd = rftp("cat", url(srv, encoded), home=home)
    assert odd.returncode == 0 and sha256(odd.stdout) == sha256(CONTENT[NON_ASCII_NAME])


def test_errors_are_one_line_with_distinct_statuses(srv, home, tmp_path):
    dl = tmp_path / "dl"
    dl.mkdir()
    missing = rftp("get", url(srv, "pub/x.bin"), dl, home=home)
    assert missing.returncode == 1
    lines = missing.stderr.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rftp: get pub/x.bin: 550 ")
    assert list(dl.iterdir()) == []  # no empty file, no .part

    wrong = rftp("ls", url(srv, password="wrong-one"), home=home, password=None)
    assert wrong.returncode == 5
    assert wrong.stderr.decode().startswith("rftp: ls .: login as alice refused: 530")
    assert "wrong-one" not in wrong.stderr.decode()

    anon = rftp("put", tmp_path, url(srv, user=None), home=home)
    assert anon.returncode == 2  # a directory: use mirror -R
    (tmp_path / "f.txt").write_bytes(b"x")
    refused = rftp("put", tmp_path / "f.txt", url(srv, "f.txt", user=None), home=home)
    assert refused.returncode == 1  # anonymous may not write
    assert refused.stderr.decode().startswith("rftp: put f.txt: 550 ")

    nolocal = rftp("put", tmp_path / "absent", url(srv, "x"), home=home)
    assert nolocal.returncode == 4
    nodir = rftp("get", url(srv, "small.bin"), tmp_path / "absent" / "x.bin", home=home)
    assert nodir.returncode == 4
    assert nodir.stderr.decode().startswith("rftp: get small.bin: ")

    closed = rftp("ls", f"ftp://127.0.0.1:{free_port()}/", home=home)
    assert closed.returncode == 3
    assert "cannot connect to 127.0.0.1" in closed.stderr.decode()

    # A user without a password, off a terminal, with nothing to read it from.
    nopass = rftp("ls", url(srv), home=home, password=None, input=b"")
    assert nopass.returncode == 2 and b"RFTP_PASSWORD" in nopass.stderr


def free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ls_short_long_json(srv, home):
    short = rftp("ls", url(srv), home=home)
    assert short.returncode == 0, short.stderr
    assert short.stdout.decode().splitlines() == TOP_LEVEL

    long = rftp("ls", "-l", url(srv, "sub/"), home=home).stdout.decode().splitlines()
    assert len(long) == 2
    inner = next(line for line in long if line.endswith(" inner.bin"))
    assert " 2000 " in inner and inner.startswith("-")
    assert next(line for line in long if line.endswith(" deeper")).startswith("d")

    listed = json.loads(rftp("ls", "--json", url(srv), home=home).stdout)
    by_name = {e["name"]: e for e in listed}
    assert sorted(by_name) == TOP_LEVEL
    assert by_name["big.bin"]["size"] == len(CONTENT["big.bin"])
    assert by_name["big.bin"]["type"] == "file" and by_name["sub"]["type"] == "dir"
    assert by_name["small.bin"]["modified"].endswith("+00:00")

    one = json.loads(rftp("ls", "--json", url(srv, "sub/inner.bin"), home=home).stdout)
    assert [(e["name"], e["size"]) for e in one] == [("inner.bin", 2000)]


def test_mkdir_mv_rm(srv, home):
    assert rftp("mkdir", "-p", url(srv, "a/b/c"), home=home).returncode == 0
    assert (srv.root / "a" / "b" / "c").is_dir()
    assert rftp("mkdir", "-p", url(srv, "a/b/c"), home=home).returncode == 0
    again = rftp("mkdir", url(srv, "a/b"), home=home)
    assert again.returncode == 1 and again.stderr.startswith(b"rftp: mkdir a/b: 550")

    assert rftp("mv", url(srv, "small.bin"), "a/b/moved.bin", home=home).returncode == 0
    assert (srv.root / "a/b/moved.bin").read_bytes() == CONTENT["small.bin"]
    assert not (srv.root / "small.bin").exists()

    assert rftp("rm", url(srv, "text.txt"), home=home).returncode == 0
    assert not (srv.root / "text.txt").exists()
    notrec = rftp("rm", url(srv, "a"), home=home)
    assert notrec.returncode == 1 and (srv.root / "a").is_dir()
    assert rftp("rm", "-r", url(srv, "a"), home=home).returncode == 0
    assert not (srv.root / "a").exists()


def test_mirror_both_ways(srv, home, tmp_path):
    local = tmp_path / "copy"
    first = rftp("mirror", url(srv), local, home=home)
    assert first.returncode == 0, first.stderr
    assert tree_digest(local) == {k: sha256(v) for k, v in CONTENT.items()}
    assert b"7 transferred" in first.stderr
    assert (local / "sub" / "deeper").is_dir()

    second = rftp("mirror", url(srv), local, home=home)
    assert second.returncode == 0 and b"0 transferred" in second.stderr

    # Upload: a change, a new file, and --delete for what the source lacks.
    (local / "new.txt").write_bytes(b"new file\n")
    (local / "small.bin").write_bytes(b"changed size")
    (local / "text.txt").unlink()
    (local / "skip.tmp").write_bytes(b"excluded")
    dry = rftp(
        "mirror",
        "-R",
        "--delete",
        "--dry-run",
        "--exclude",
        "*.tmp",
        local,
        url(srv),
        home=home,
    )
    assert dry.returncode == 0, dry.stderr
    planned = dry.stdout.decode().splitlines()
    assert sorted(planned) == ["delete text.txt", "put new.txt", "put small.bin"]
    assert (srv.root / "text.txt").exists() and not (srv.root / "new.txt").exists()

    up = rftp(
        "mirror",
        "-R",
        "-q",
        "--delete",
        "--exclude",
        "*.tmp",
        local,
        url(srv),
        home=home,
    )
    assert up.returncode == 0 and up.stderr == b"" and up.stdout == b""
    expected = tree_digest(local)
    del expected["skip.tmp"]
    assert tree_digest(srv.root) == expected

    only = tmp_path / "only"
    inc = rftp("mirror", "--include", "*.txt", url(srv), only, home=home)
    assert inc.returncode == 0
    assert sorted(tree_digest(only)) == ["new.txt"]

    # One file cannot land (a directory is in its way): it is named, the rest complete.
    blocked = tmp_path / "blocked"
    (blocked / "medium.bin" / "in-the-way").mkdir(parents=True)
    partial = rftp("mirror", url(srv), blocked, home=home)
    assert partial.returncode == 1
    lines = partial.stderr.decode().splitlines()
    assert [line for line in lines if "medium.bin" in line] == [lines[0]]
    assert lines[0].startswith("rftp: mirror .: medium.bin: ")
    assert b"1 failed" in partial.stderr
    got = tree_digest(blocked)
    assert got == {k: v for k, v in tree_digest(srv.root).items() if k != "medium.bin"}


# -- passwords ------------------------------------------------------------------


def test_netrc_login_and_no_password_in_ps(srv, home, tmp_path):
    """~/.netrc supplies the login; while the command runs, `ps` shows no password."""
    netrc = home / ".netrc"
    netrc.write_text(f"machine {srv.host}\n  login {USER}\n  password {PASSWORD}\n")
    netrc.chmod(0o600)
    (tmp_path / "up.bin").write_bytes(CONTENT["big.bin"])
    # A URL without user: netrc names alice, who (unlike anonymous) may write.
    # Rate-limited to ~1.5 s, so that the process is still there for `ps`.
    proc = subprocess.Popen(
        [
            RFTP,
            "put",
            "-v",
            "--rate-limit",
            "2M",
            tmp_path / "up.bin",
            url(srv, "up.bin", user=None),
        ],
        env=env_for(home, password=None),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for(lambda: (srv.root / "up.bin").exists(), "the upload to start")
        shown = ps_lines()
        assert RFTP in shown and PASSWORD not in shown
        with open(f"/proc/{proc.pid}/cmdline", "rb") as f:
            assert PASSWORD.encode() not in f.read()
        out, err = proc.communicate(timeout=RUN_TIMEOUT)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 0, err
    assert PASSWORD.encode() not in out + err
    assert f"*cmd* 'USER {USER}'".encode() in err and b"*cmd* 'PASS *" in err
    assert sha256((srv.root / "up.bin").read_bytes()) == sha256(CONTENT["big.bin"])


def test_password_in_url_is_masked_and_hidden_from_ps(srv, home, tmp_path):
    """A password typed in the URL is masked in messages and the -v dialogue,
    and overwritten in the command line `ps` shows, once rftp has started."""
    local = tmp_path / "big.bin"
    proc = subprocess.Popen(
        [
            RFTP,
            "get",
            "--rate-limit",
            "2M",
            url(srv, "big.bin", password=PASSWORD),
            local,
        ],
        env=env_for(home, password=None),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        part = tmp_path / "big.bin.part"
        wait_for(
            lambda: part.exists() and part.stat().st_size > 0, "the download to start"
        )
        with open(f"/proc/{proc.pid}/cmdline", "rb") as f:
            cmdline = f.read()
        shown = ps_lines()
        out, err = proc.communicate(timeout=RUN_TIMEOUT)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 0, err
    assert PASSWORD.encode() not in cmdline + out + err and PASSWORD not in shown
    assert f"ftp://{USER}:{'*' * len(PASSWORD)}@".encode() in cmdline
    assert sha256(local.read_bytes()) == sha256(CONTENT["big.bin"])

    ok = rftp(
        "ls", "-v", url(srv, "nowhere/", password=PASSWORD), home=home, password=None
    )
    assert ok.returncode == 1
    assert PASSWORD.encode() not in ok.stdout + ok.stderr
    assert b"*cmd* 'PASS *" in ok.stderr
    assert ok.stderr.decode().splitlines()[-1].startswith("rftp: ls nowhere: 5")
    bad = rftp("ls", f"http://{USER}:{PASSWORD}@{srv.host}/", home=home)
    assert bad.returncode == 2 and b"alice:****@" in bad.stderr
    assert PASSWORD.encode() not in bad.stderr


# -- terminals, Ctrl-C ------------------------------------------------------------


def run_in_pty(argv, env, respond=None, timeout=RUN_TIMEOUT):
    """Run argv on a new pseudo-terminal; ``respond(output_so_far)`` may return
    bytes to type. Returns (exit status, everything the terminal showed)."""
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.execve(argv[0], argv, env)
        finally:
            os._exit(127)
    shown = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                shown += chunk
            if respond is not None:
                typed = respond(shown)
                if typed:
                    os.write(fd, typed)
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(fd)
    return os.waitstatus_to_exitcode(status), shown


def test_prompt_and_progress_bar_on_a_terminal(srv, home, tmp_path):
    """On a terminal: a no-echo prompt (the password stays off screen and out of
    `ps`), then a progress bar with bytes, rate and the final 100%."""
    answered = []

    def respond(shown):
        if b"Password for alice@127.0.0.1: " in shown and not answered:
            assert PASSWORD not in ps_lines()
            answered.append(True)
            return PASSWORD.encode() + b"\n"
        return None

    env = env_for(home, password=None, COLUMNS="100")
    # Rate-limited to last about a second: the bar is redrawn along the way.
    status, shown = run_in_pty(
        [
            RFTP,
            "get",
            "--rate-limit",
            "3M",
            url(srv, "big.bin"),
            str(tmp_path / "big.bin"),
        ],
        env,
        respond,
    )
    text = shown.decode(errors="replace")
    assert status == 0, text
    assert answered and PASSWORD not in text  # not echoed
    assert "100%" in text and "3.0 MiB/3.0 MiB" in text
    assert re.search(r"\d+\.\d MiB/3\.0 MiB [0-9.]+ [KM]iB/s ETA \d+:\d\d", text), text
    assert "big.bin" in text
    assert sha256((tmp_path / "big.bin").read_bytes()) == sha256(CONTENT["big.bin"])

    quiet_status, quiet = run_in_pty(
        [RFTP, "get", "-q", url(srv, "medium.bin"), str(tmp_path / "m.bin")],
        env_for(home),
    )
    assert quiet_status == 0 and quiet == b""

    mirror_status, shown = run_in_pty(
        [RFTP, "mirror", url(srv), str(tmp_path / "tree")], env_for(home, COLUMNS="100")
    )
    text = shown.decode(errors="replace")
    assert mirror_status == 0, text
    assert "total" in text and "[7/7 files]" in text and "7 transferred" in text
    assert tree_digest(tmp_path / "tree") == {k: sha256(v) for k, v in CONTENT.items()}


def test_ctrl_c_keeps_part_file_and_resumes(srv, home, tmp_path):
    local = tmp_path / "big.bin"
    part = tmp_path / "big.bin.part"
    proc = subprocess.Popen(
        [RFTP, "get", "--rate-limit", "512k", url(srv, "big.bin"), local],
        env=env_for(home),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for(lambda: part.exists() and part.stat().st_size > 0, "a partial file")
        assert PASSWORD not in ps_lines()  # RFTP_PASSWORD is not on the command line
        with open(f"/proc/{proc.pid}/environ", "rb") as f:  # what `ps e` shows
            environ = f.read().split(b"\0")
        assert b"RFTP_PASSWORD=" + b"*" * len(PASSWORD) in environ
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=RUN_TIMEOUT)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 130
    message = err.decode()
    assert message.startswith("rftp: get big.bin: interrupted") and "resume" in message
    assert "Traceback" not in message
    assert part.exists() and not local.exists()
    kept = part.stat().st_size
    assert 0 < kept < len(CONTENT["big.bin"])

    again = rftp("get", "-v", url(srv, "big.bin"), local, home=home)
    assert again.returncode == 0, again.stderr
    assert f"resumed from byte {kept}".encode() in again.stderr  # not restarted
    assert sha256(local.read_bytes()) == sha256(CONTENT["big.bin"])
    assert not part.exists()


# -- FTPS and absolute paths (vsftpd) ------------------------------------------------


def test_ftps_explicit_verification_and_absolute_paths(root, home, tmp_path):
    from vsftpd import Vsftpd

    with Vsftpd(root, tls="explicit") as vs:
        base = f"ftps://{vs.user}@{vs.host}:{vs.port}/"
        password = vs.password

        def run(*args):
            return rftp(*args, home=home, password=password)

        got = run(
            "get", "-v", "--cafile", vs.certfile, base + "sub/inner.bin", tmp_path
        )
        assert got.returncode == 0, got.stderr
        assert sha256((tmp_path / "inner.bin").read_bytes()) == sha256(
            CONTENT["sub/inner.bin"]
        )
        assert b"AUTH TLS" in got.stderr and b"PROT P" in got.stderr
        assert b"rftp: get sub/inner.bin: 2000 bytes in " in got.stderr

        # %2F: an absolute path; vsftpd's login directory is the root's real path.
        absolute = base + "%2F" + str(root).lstrip("/") + "/sub/inner.bin"
        cat = run("cat", "-v", "--cafile", vs.certfile, absolute)
        assert cat.returncode == 0, cat.stderr
        assert sha256(cat.stdout) == sha256(CONTENT["sub/inner.bin"])
        assert f"RETR {root}/sub/inner.bin".encode() in cat.stderr

        # vsftpd has no MLSD: the LIST lines are parsed.
        listed = run("ls", "--json", "--cafile", vs.certfile, base)
        assert listed.returncode == 0, listed.stderr
        sizes = {e["name"]: e["size"] for e in json.loads(listed.stdout)}
        assert (
            sizes["big.bin"] == len(CONTENT["big.bin"]) and sorted(sizes) == TOP_LEVEL
        )
        long = run("ls", "-l", "--cafile", vs.certfile, base + "sub/").stdout.decode()
        assert any(
            line.startswith("-rw-r--r-- ") and line.endswith(" inner.bin")
            for line in long.splitlines()
        ), long

        untrusted = run(
            "cat", base + "small.bin"
        )  # self-signed: not in the system store
        assert untrusted.returncode == 3
        assert b"certificate" in untrusted.stderr

        insecure = run("cat", "--insecure", base + "small.bin")
        assert insecure.returncode == 0 and insecure.stdout == CONTENT["small.bin"]

        tree = tmp_path / "tree"
        mirrored = run("mirror", "-j", "3", "--cafile", vs.certfile, base, tree)
        assert mirrored.returncode == 0, mirrored.stderr
        assert tree_digest(tree) == {k: sha256(v) for k, v in CONTENT.items()}

        (tmp_path / "up.bin").write_bytes(CONTENT["medium.bin"])
        put = run("put", "--cafile", vs.certfile, tmp_path / "up.bin", base)
        assert put.returncode == 0, put.stderr
        assert sha256((root / "up.bin").read_bytes()) == sha256(CONTENT["medium.bin"])


def test_ftps_implicit(root, home, tmp_path):
    from vsftpd import Vsftpd

    with Vsftpd(root, tls="implicit") as vs:
        base = f"ftps://{vs.user}@{vs.host}:{vs.port}/"
        got = rftp(
            "cat",
            "--implicit",
            "--cafile",
            vs.certfile,
            base + "medium.bin",
            home=home,
            password=vs.password,
        )
        assert got.returncode == 0, got.stderr
        assert sha256(got.stdout) == sha256(CONTENT["medium.bin"])
        plain = rftp("cat", "--implicit", f"ftp://{vs.host}:{vs.port}/x", home=home)
        assert plain.returncode == 2


# -- the README's example ------------------------------------------------------------


def test_readme_example_runs(tmp_path, home):
    """The README's paste-and-run block, on a free port in a scratch directory."""
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    section = readme.split("## The rftp command", 1)[1]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    assert block.startswith("pip install . pyftpdlib\n")
    port = str(free_port())
    script = block.split("\n", 1)[1].replace("2121", port)
    script = script.replace("/tmp/rftp-demo", str(tmp_path / "demo"))
    # Wait for the server rather than for a second; stop it however the script ends.
    assert "\nsleep 1\n" in script
    script = "trap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n" + script.replace(
        "\nsleep 1\n",
        f"\nfor i in $(seq 200); do (: </dev/tcp/127.0.0.1/{port}) 2>/dev/null && break;"
        " sleep 0.05; done\n",
    )
    env = env_for(home, password=None)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        capture_output=True,
        env=env,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    out = done.stdout.decode()
    assert "hello\n" in out and "big.bin" in out
    demo = tmp_path / "demo"
    assert sha256((demo / "big.bin").read_bytes()) == sha256(
        (demo / "srv/pub/docs/big.bin").read_bytes()
    )
    assert (demo / "copy/new.txt").exists() and not (demo / "srv/backup").exists()
