"""Any sequence of data transfers over FTPS against servers that require TLS
session reuse: ProFTPD (mod_tls, which also checks the data connection's
session against the control connection's) and vsftpd (require_ssl_reuse=YES),
on TLS 1.2 and on TLS 1.3.

Under TLS 1.3 every data connection can change which session the next one
offers (tickets arrive after the handshake, on the control connection and on
data connections, and OpenSSL spends a ticket once a handshake used it), so
what matters is the order of operations. One session per (server, version)
runs a de Bruijn sequence B(9, 3) over the nine operations below: 731
operations in which every sequence of three (and so of two) operations occurs
as a contiguous run. Each operation's result is checked, bytes by sha256.
"""

from __future__ import annotations

import io
import random
import ssl
from itertools import islice

import pytest
from serverfarm import HUGE_NAME, huge_payload, supports
from support import TIMEOUT, resync, sha256

OPS = (
    "nlst",
    "dir",
    "mlsd",
    "retrbinary",
    "retrlines",
    "storbinary",
    "storlines",
    "transfercmd_close",  # a STOR through transfercmd(), closed without unwrap()
    "abort",  # ABOR while a large RETR is still being sent
)

DATA = random.Random(1).randbytes(50_001)
TEXT_LINES = [f"line {i} of the text file" for i in range(60)]
TEXT = "".join(line + "\n" for line in TEXT_LINES).encode()


def de_bruijn(k, n):
    """The de Bruijn sequence B(k, n) over range(k), as a list (cyclic)."""
    a = [0] * k * n
    out = []

    def db(t, p):
        if t > n:
            if n % p == 0:
                out.extend(a[1 : p + 1])
        else:
            a[t] = a[t - p]
            db(t + 1, p)
            for j in range(a[t - p] + 1, k):
                a[t] = j
                db(t + 1, t)

    db(1, 1)
    return out


def op_sequence():
    seq = de_bruijn(len(OPS), 3)
    return [OPS[i] for i in seq + seq[:2]]  # + 2: the cycle's wrap-around runs too


def test_sequence_holds_every_run_of_three():
    seq = op_sequence()
    assert len(seq) == len(OPS) ** 3 + 2
    runs = {tuple(seq[i : i + 3]) for i in range(len(seq) - 2)}
    assert len(runs) == len(OPS) ** 3


def client_context(srv, version):
    ctx = srv.client_context()
    ctx.minimum_version = ctx.maximum_version = version
    return ctx


class Runner:
    """Runs the operations in one directory of its own and checks each."""

    def __init__(self, lib, ftp, srv, local_dir):
        self.lib = lib
        self.ftp = ftp
        self.srv = srv
        self.local = local_dir  # the same directory, seen from this machine
        self.names = {"data.bin", "text.txt"}
        self.count = 0
        self.huge = f"{srv.home.rstrip('/')}/{HUGE_NAME}"
        self.huge_head = huge_payload()[: 1 << 16]

    def blob(self):
        self.count += 1
        return DATA[: 1000 + 997 * (self.count % 40)] + self.count.to_bytes(4, "big")

    def run(self, op):
        getattr(self, op)()

    def nlst(self):
        assert sorted(self.ftp.nlst()) == sorted(self.names)

    def dir(self):
        lines = []
        self.ftp.dir(lines.append)
        assert sorted(line.split()[-1] for line in lines) == sorted(self.names)

    def mlsd(self):
        if not supports(self.srv.kind, "mlsd"):
            with pytest.raises(self.lib.error_perm, match="^500"):
                list(self.ftp.mlsd())
            return
        names = [n for n, facts in self.ftp.mlsd() if facts.get("type") == "file"]
        assert sorted(names) == sorted(self.names)

    def retrbinary(self):
        chunks = []
        assert self.ftp.retrbinary("RETR data.bin", chunks.append).startswith("226")
        assert sha256(b"".join(chunks)) == sha256(DATA)

    def retrlines(self):
        lines = []
        assert self.ftp.retrlines("RETR text.txt", lines.append).startswith("226")
        assert lines == TEXT_LINES

    def storbinary(self):
        blob = self.blob()
        assert self.ftp.storbinary("STOR up.bin", io.BytesIO(blob)).startswith("226")
        self.names.add("up.bin")
        assert sha256((self.local / "up.bin").read_bytes()) == sha256(blob)

    def storlines(self):
        text = TEXT + f"upload {self.count}\n".encode()
        self.count += 1
        assert self.ftp.storlines("STOR up.txt", io.BytesIO(text)).startswith("226")
        self.names.add("up.txt")
        stored = (self.local / "up.txt").read_bytes().replace(b"\r\n", b"\n")
        assert sha256(stored) == sha256(text)

    def transfercmd_close(self):
        blob = self.blob()
        self.ftp.voidcmd("TYPE I")
        conn = self.ftp.transfercmd("STOR raw.bin")
        conn.sendall(blob)
        conn.close()  # no unwrap(): no close_notify
        self.names.add("raw.bin")
        if self.srv.kind == "vsftpd":
            # vsftpd takes an upload that ends without close_notify for a
            # truncated one: it says so, and the session goes on.
            with pytest.raises(
                self.lib.error_temp, match="^426 Failure reading network stream"
            ):
                self.ftp.voidresp()
            return
        assert self.ftp.voidresp().startswith("226")
        assert sha256((self.local / "raw.bin").read_bytes()) == sha256(blob)

    def abort(self):
        self.ftp.voidcmd("TYPE I")
        conn = self.ftp.transfercmd(f"RETR {self.huge}")
        got = b""
        while len(got) < len(self.huge_head):
            chunk = conn.recv(len(self.huge_head) - len(got))
            assert chunk
            got += chunk
        assert got == self.huge_head
        # Closed first: over TLS, ABOR cannot be sent as urgent data, and a
        # server blocked on a full data connection reads no command.
        conn.close()
        first = self.ftp.abort()
        assert first[:3] in ("426", "225", "226"), first
        stale = resync(self.ftp)
        assert all(r[:3] in ("225", "226", "426", "451") for r in stale), stale


@pytest.mark.parametrize("version", ["TLSv1.2", "TLSv1.3"])
@pytest.mark.parametrize("kind", ["proftpd", "vsftpd"])
def test_every_sequence_of_three_transfers(lib, server_farm, kind, version):
    srv = server_farm.get(kind, "explicit")
    srv.kind = kind
    ftp = lib.FTP_TLS(
        context=client_context(srv, getattr(ssl.TLSVersion, version.replace(".", "_"))),
        timeout=TIMEOUT,
    )
    try:
        ftp.connect(srv.host, srv.port)
        ftp.login(srv.user, srv.password)
        ftp.prot_p()
        assert ftp.sock.version() == version
        workdir = f"seq-{version}"
        ftp.mkd(workdir)
        ftp.cwd(workdir)
        local = srv.root / workdir
        ftp.storbinary("STOR data.bin", io.BytesIO(DATA))
        ftp.storbinary("STOR text.txt", io.BytesIO(TEXT))
        runner = Runner(lib, ftp, srv, local)
        done = []
        for op in islice(op_sequence(), None):
            try:
                runner.run(op)
            except Exception as e:
                log = getattr(srv, "tls_log", lambda: "")()[-2000:]
                raise AssertionError(
                    f"{op} failed after {done[-3:]} ({len(done)} done): {e!r}\n{log}"
                ) from e
            done.append(op)
        assert len(done) == len(OPS) ** 3 + 2
        ftp.quit()
    finally:
        ftp.close()
