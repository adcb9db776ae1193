"""The interop matrix: rftplib against vsftpd, ProFTPD (mod_tls), pure-ftpd
and pyftpdlib, each in every mode it has.

Test IDs read server-mode-dataconn-family:
- mode: plain FTP; explicit FTPS (AUTH TLS, PROT P; TLS required and, where
  the server can require it — vsftpd and ProFTPD — TLS session reuse on data
  connections required too); implicit FTPS (vsftpd and ProFTPD).
- dataconn: pasv, epsv, port (active) and eprt (active) on IPv4; epsv and
  eprt on IPv6, where PASV and PORT cannot name an address.
- family: ipv4 (127.0.0.1) or ipv6 (::1); every server listens on both.

Each cell logs in and works in a directory of its own: pwd/mkd/cwd/rmd,
nlst/dir/mlsd (vsftpd has no MLSD: its 500 is checked), retrbinary with and
without ``rest``, retrlines, storbinary with and without ``rest``, storlines,
size, rename, delete, an abort in the middle of a RETR, and a run of
transfers in one session: 200 in the first cell of each (server, mode), 10
in the others. Every byte is checked by sha256, uploads on the server's disk.
The servers start once per session (tests/serverfarm.py).
"""

from __future__ import annotations

import io
import os
import random

import pytest
from serverfarm import HUGE_NAME, KINDS, huge_payload, supports
from support import CONTENT, TIMEOUT, resync, sha256

MODES = ("plain", "explicit", "implicit")
DATACONNS = {"ipv4": ("pasv", "epsv", "port", "eprt"), "ipv6": ("epsv", "eprt")}
HOSTS = {"ipv4": "127.0.0.1", "ipv6": "::1"}
VERB = {"pasv": "PASV", "epsv": "EPSV", "port": "PORT", "eprt": "EPRT"}

DATA = random.Random(2).randbytes(70_003)
TEXT_LINES = [f"text line {i}" for i in range(40)]
TEXT = "".join(line + "\n" for line in TEXT_LINES).encode()
HEAVY_TRANSFERS, BRIEF_TRANSFERS = 200, 10


def cells():
    for kind in KINDS:
        for mode in MODES:
            if mode == "implicit" and not supports(kind, "implicit"):
                continue
            for family, dataconns in DATACONNS.items():
                for dataconn in dataconns:
                    # The first cell of each (server, mode) is the heavy one.
                    heavy = family == "ipv4" and dataconn == "pasv"
                    yield pytest.param(
                        kind,
                        mode,
                        dataconn,
                        family,
                        heavy,
                        id=f"{kind}-{mode}-{dataconn}-{family}",
                    )


def client_class(lib, tls, dataconn, family):
    """lib's FTP or FTP_TLS, made to use ``dataconn`` and to record each command's verb.

    ftplib's own choice is PASV/PORT on IPv4 and EPSV/EPRT on IPv6; EPSV and
    EPRT on IPv4 are what a subclass overriding makepasv/sendport gets.
    """
    base = lib.FTP_TLS if tls else lib.FTP

    def putcmd(self, line):
        self.verbs.append(line.split(" ", 1)[0].upper())
        return base.putcmd(self, line)

    namespace = {"putcmd": putcmd}
    if family == "ipv4" and dataconn == "epsv":

        def makepasv(self):
            return lib.parse229(self.sendcmd("EPSV"), self.sock.getpeername())

        namespace["makepasv"] = makepasv
    if family == "ipv4" and dataconn == "eprt":

        def sendport(self, host, port):
            return self.voidcmd(f"EPRT |1|{host}|{port}|")

        namespace["sendport"] = sendport
    return type(f"Interop{base.__name__}", (base,), namespace)


def connect(lib, srv, mode, dataconn, family):
    cls = client_class(lib, mode != "plain", dataconn, family)
    if mode == "plain":
        ftp = cls(timeout=TIMEOUT)
    else:
        ftp = cls(
            context=srv.client_context(), timeout=TIMEOUT, implicit=mode == "implicit"
        )
    ftp.verbs = []
    try:
        welcome = ftp.connect(srv.host, srv.port)
        assert welcome.startswith("220"), welcome
        assert ftp.login(srv.user, srv.password).startswith("230")
        if mode != "plain":
            assert ftp.prot_p().startswith("200")
        ftp.set_pasv(dataconn in ("pasv", "epsv"))
    except BaseException:
        ftp.close()
        raise
    return ftp


def nlst(ftp):
    """NLST's names, without the '.' and '..' pure-ftpd lists too."""
    return sorted(n for n in ftp.nlst() if n not in (".", ".."))


def join(directory, name):
    return f"{directory.rstrip('/')}/{name}"


def abort_mid_retr(lib, ftp, kind, path):
    ftp.voidcmd("TYPE I")
    conn = ftp.transfercmd(f"RETR {path}")
    head = huge_payload()[: 1 << 16]
    got = b""
    while len(got) < len(head):
        chunk = conn.recv(len(head) - len(got))
        assert chunk, "the data connection ended early"
        got += chunk
    assert got == head
    # Closed before ABOR: over TLS ABOR cannot travel as urgent data, and a
    # server blocked on a full data connection reads no command meanwhile.
    conn.close()
    try:
        first = ftp.abort()
    except lib.error_proto as e:
        # pure-ftpd words the end of the cut-short transfer "150 0.002
        # seconds (measured here), ...", which abort() refuses as ftplib does.
        assert kind == "pureftpd" and str(e).startswith("150 "), e
    else:
        assert first[:3] in ("426", "225", "226"), first
    stale = resync(ftp)
    assert all(r[:3] in ("225", "226", "426", "451") for r in stale), stale


@pytest.mark.parametrize("kind, mode, dataconn, family, heavy", list(cells()))
def test_interop(lib, server_farm, kind, mode, dataconn, family, heavy):
    srv = server_farm.get(kind, None if mode == "plain" else mode, HOSTS[family])
    ftp = connect(lib, srv, mode, dataconn, family)
    try:
        exercise(lib, ftp, srv, kind, f"cell-{dataconn}", heavy)
        assert ftp.quit().startswith("221")
    finally:
        ftp.close()
    used = {VERB[d] for d in VERB} & set(ftp.verbs)
    assert used == {VERB[dataconn]}, ftp.verbs


def exercise(lib, ftp, srv, kind, cell, heavy):
    home = ftp.pwd()
    assert home.rstrip("/") == srv.home.rstrip("/")
    made = ftp.mkd(cell)
    assert made.rstrip("/").endswith(cell)
    assert ftp.cwd(cell).startswith("250")
    assert ftp.pwd() == join(home, cell)
    local = srv.root / cell

    # Uploads, the second one resumed with REST.
    assert ftp.storbinary("STOR a.bin", io.BytesIO(DATA)).startswith("226")
    assert sha256((local / "a.bin").read_bytes()) == sha256(DATA)
    half = len(DATA) // 2
    ftp.storbinary("STOR part.bin", io.BytesIO(DATA[:half]))
    assert ftp.storbinary(
        "STOR part.bin", io.BytesIO(DATA[half:]), rest=half
    ).startswith("226")
    assert sha256((local / "part.bin").read_bytes()) == sha256(DATA)
    assert ftp.storlines("STOR t.txt", io.BytesIO(TEXT)).startswith("226")
    assert sha256((local / "t.txt").read_bytes().replace(b"\r\n", b"\n")) == sha256(
        TEXT
    )

    # Downloads, one from an offset, one from the parent directory.
    chunks = []
    assert ftp.retrbinary("RETR a.bin", chunks.append, rest=777).startswith("226")
    assert sha256(b"".join(chunks)) == sha256(DATA[777:])
    chunks = []
    ftp.retrbinary(f"RETR {join(home, 'big.bin')}", chunks.append)
    assert sha256(b"".join(chunks)) == sha256(CONTENT["big.bin"])
    lines = []
    assert ftp.retrlines("RETR t.txt", lines.append).startswith("226")
    assert lines == TEXT_LINES

    ftp.voidcmd("TYPE I")  # ProFTPD refuses SIZE in ASCII mode
    assert ftp.size("a.bin") == len(DATA)

    # Listings.
    names = {"a.bin", "part.bin", "t.txt"}
    assert nlst(ftp) == sorted(names)
    listing = []
    ftp.dir(listing.append)
    assert sorted(line.split()[-1] for line in listing) == sorted(names)
    if supports(kind, "mlsd"):
        facts = {name: f for name, f in ftp.mlsd() if f.get("type") == "file"}
        assert sorted(facts) == sorted(names)
        assert int(facts["a.bin"]["size"]) == len(DATA)
    else:
        with pytest.raises(lib.error_perm, match="^500"):
            list(ftp.mlsd())

    # Rename and delete.
    assert ftp.rename("a.bin", "b.bin").startswith("250")
    assert nlst(ftp) == sorted(names - {"a.bin"} | {"b.bin"})
    assert (local / "b.bin").exists() and not (local / "a.bin").exists()
    for name in ("b.bin", "part.bin", "t.txt"):
        assert ftp.delete(name).startswith("250")
    assert nlst(ftp) == []

    abort_mid_retr(lib, ftp, kind, join(home, HUGE_NAME))

    # Many transfers in one session, alternately down and up.
    small = CONTENT["small.bin"]
    for i in range(HEAVY_TRANSFERS if heavy else BRIEF_TRANSFERS):
        if i % 2:
            blob = DATA[: 500 + i] + i.to_bytes(2, "big")
            ftp.storbinary("STOR many.bin", io.BytesIO(blob))
            assert sha256((local / "many.bin").read_bytes()) == sha256(blob), i
        else:
            chunks = []
            ftp.retrbinary(f"RETR {join(home, 'small.bin')}", chunks.append)
            assert sha256(b"".join(chunks)) == sha256(small), i
    assert ftp.delete("many.bin").startswith("250")

    assert ftp.cwd("..").startswith("250")
    assert ftp.pwd().rstrip("/") == home.rstrip("/")
    assert ftp.rmd(cell).startswith("250")
    assert not local.exists()


def test_a_missing_server_fails_loudly(monkeypatch, tmp_path):
    import launcher
    from proftpd import Proftpd
    from pureftpd import PureFtpd

    monkeypatch.setattr(launcher, "SERVERS_DIR", tmp_path / "nothing-here")
    monkeypatch.delenv("PROFTPD", raising=False)
    monkeypatch.setenv("PURE_FTPD", str(tmp_path / "no-pure-ftpd"))
    with pytest.raises(
        RuntimeError, match="proftpd is not installed.*apt-get download"
    ):
        Proftpd(tmp_path, tls="explicit")
    if not any(
        os.access(p, os.X_OK)
        for p in ("/usr/sbin/pure-ftpd", "/opt/pure-ftpd/usr/sbin/pure-ftpd")
    ):
        with pytest.raises(RuntimeError, match="pure-ftpd is not installed"):
            PureFtpd(tmp_path)
