"""Capture the listing corpus from real servers: ``python tests/listings/capture.py
[SERVER ...]``
(as root; needs vsftpd, pyftpdlib, pure-ftpd as benches/pureftpd.py says, and
ProFTPD through tests/proftpd.py).

Builds one tree with odd names, a link, a device node and a fifo, with known
sizes and modification times, and saves what each server sends for LIST and
MLSD (TYPE A, bytes as received) next to this file as ``SERVER.list`` and
``SERVER.mlsd``. The expected entries, ``SERVER.list.expected`` and
``SERVER.mlsd.expected``, come from the tree itself (``os.lstat``), not from
any parser, so the Rust corpus test (src/proto/listing/corpus_tests.rs)
checks the parsers against the truth. Each expected file starts with
``# now UNIX`` (the capture time, for year-less dates); then one line per
entry, tab-separated: name, kind, size, modified, target. ``*`` means "not
checked", ``a|b`` "either" (servers differ on links and devices in MLSD),
``-`` "None", a kind starting with ``?`` an entry the server may leave out.
"""

from __future__ import annotations

import ftplib
import os
import shutil
import stat
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent
for _dir in (TESTS, TESTS.parent / "benches"):
    if str(_dir) not in sys.path:
        sys.path.append(str(_dir))

SIX_MONTHS = 180 * 86400
OLD = 1589723107  # 2020-05-17 13:45:07 UTC
LEAP = 1709208000  # 2024-02-29 12:00:00 UTC

FILES = {
    "plain.txt": 5,
    "name with spaces.txt": 17,
    "  two leading spaces": 3,
    "trailing space ": 4,
    "-leading-dash": 6,
    "arrow -> in name": 8,
    "ünïcødé 名前.txt": 11,
    "semi;colon=x": 2,
    "Jan 01  2020": 1,
    "100% [x] {y}": 0,
    "big.bin": 3_000_000,
}
DIRS = ["sub dir", "empty"]


def build(root: Path, now: int):
    recent = now - 3 * 86400 - 17  # seconds not on a minute boundary
    times = {}
    for i, (name, size) in enumerate(FILES.items()):
        (root / name).write_bytes(b"x" * size)
        times[name] = (OLD, LEAP, recent)[i % 3]
    for name in DIRS:
        (root / name).mkdir()
        times[name] = recent
    (root / "sub dir" / "inner.txt").write_bytes(b"inner")
    os.symlink("plain.txt", root / "link to plain")
    os.mknod(root / "null-dev", stat.S_IFCHR | 0o666, os.makedev(1, 3))
    os.mkfifo(root / "fifo")
    times["null-dev"] = times["fifo"] = LEAP
    for name, t in times.items():
        os.utime(root / name, (t, t), follow_symlinks=False)
    os.utime(root / "link to plain", (recent, recent), follow_symlinks=False)


def expected(root: Path, now: int, mlsd: bool):
    lines = [f"# now {now}"]
    for path in sorted(root.iterdir()):
        st = os.lstat(path)
        t = int(st.st_mtime)
        if not mlsd:
            # ls -l precision: minutes for the last six months, days before.
            t -= t % 60 if now - t < SIX_MONTHS else t % 86400
        modified, target = str(t), "-"
        if stat.S_ISLNK(st.st_mode) and mlsd:
            # pyftpdlib describes what the link points to.
            kind, size, modified, target = "link|file", "*", "*", "*"
        elif stat.S_ISLNK(st.st_mode):
            kind, size, target = "link", "*", os.readlink(path)
        elif stat.S_ISDIR(st.st_mode):
            kind, size = "dir", "*"
        elif stat.S_ISREG(st.st_mode):
            kind, size = "file", str(st.st_size)
        else:
            # pure-ftpd leaves devices and fifos out ("?": may be absent).
            kind, size = ("?other|file" if mlsd else "?other"), "*"
        lines.append(f"{path.name}\t{kind}\t{size}\t{modified}\t{target}")
    return "\n".join(lines) + "\n"


def fetch(ftp, cmd):
    ftp.sendcmd("TYPE A")
    conn = ftp.transfercmd(cmd)
    data = bytearray()
    with conn:
        while chunk := conn.recv(65536):
            data += chunk
    ftp.voidresp()
    return bytes(data)


def capture(name, srv, root, now, mlsd):
    ftp = ftplib.FTP()
    ftp.connect(srv.host, srv.port)
    ftp.login(srv.user, srv.password)
    (HERE / f"{name}.list").write_bytes(fetch(ftp, "LIST"))
    (HERE / f"{name}.list.expected").write_text(expected(root, now, False))
    if mlsd:
        (HERE / f"{name}.mlsd").write_bytes(fetch(ftp, "MLSD"))
        (HERE / f"{name}.mlsd.expected").write_text(expected(root, now, True))
    ftp.quit()


def pyftpdlib(root):
    from servers import PyftpdlibThreaded

    return PyftpdlibThreaded(root)


def vsftpd(root):
    from vsftpd import Vsftpd

    return Vsftpd(root)


def pure_ftpd(root):
    from pureftpd import PureFtpd

    return PureFtpd(root, tls_required=False)


def proftpd(root):
    from proftpd import Proftpd  # tests/proftpd.py (the interoperability suite's)

    return Proftpd(root)


def main(only=()):
    now = int(time.time())
    base = Path(tempfile.mkdtemp(prefix="listing-corpus-"))
    base.chmod(0o755)
    try:
        for name, make, mlsd in [
            ("pyftpdlib", pyftpdlib, True),
            ("vsftpd", vsftpd, False),
            ("pure-ftpd", pure_ftpd, True),
            ("proftpd", proftpd, True),
        ]:
            if only and name not in only:
                continue
            root = base / name
            root.mkdir()
            build(root, now)
            with make(root) as srv:
                capture(name, srv, root, now, mlsd)
            print("captured", name)
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
