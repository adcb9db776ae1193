"""The documented audit events: ftplib.connect and ftplib.sendcmd."""

import sys

import pytest
from faultserver import Accept, DataClose, DataSend, FaultServer, Pasv
from support import TIMEOUT

_events = None


def _hook(event, args):
    # Audit hooks cannot be removed: this one records only inside `audit`.
    if _events is not None and event.startswith("ftplib."):
        _events.append((event, args))


sys.addaudithook(_hook)


@pytest.fixture
def audit():
    global _events
    _events = []
    yield _events
    _events = None


SCRIPT = [
    (None, ["220 hi"]),
    ("USER u", ["331 pass"]),
    ("PASS secret", ["230 in"]),
    ("TYPE I", ["200 binary"]),
    ("PASV", [Pasv()]),
    ("RETR f", ["150 go", Accept(), DataSend(b"x"), DataClose(), "226 done"]),
    ("ABOR", ["225 nothing"]),
    ("QUIT", ["221 bye"]),
]


def test_connect_and_sendcmd_events(lib, audit):
    with FaultServer(SCRIPT) as srv:
        ftp = lib.FTP(timeout=TIMEOUT)
        try:
            ftp.connect(srv.host, srv.port)
            ftp.login("u", "secret")
            ftp.retrbinary("RETR f", lambda data: None)
            ftp.abort()  # not audited: it bypasses putline
            ftp.quit()
        finally:
            ftp.close()
    assert audit == [
        ("ftplib.connect", (ftp, srv.host, srv.port)),
        ("ftplib.sendcmd", (ftp, "USER u")),
        ("ftplib.sendcmd", (ftp, "PASS secret")),  # unmasked, unlike debug output
        ("ftplib.sendcmd", (ftp, "TYPE I")),
        ("ftplib.sendcmd", (ftp, "PASV")),
        ("ftplib.sendcmd", (ftp, "RETR f")),
        ("ftplib.sendcmd", (ftp, "QUIT")),
    ]


def test_refused_command_is_not_audited(lib, audit):
    with FaultServer([(None, ["220 hi"])]) as srv:
        ftp = lib.FTP(timeout=TIMEOUT)
        try:
            ftp.connect(srv.host, srv.port)
            with pytest.raises(ValueError):
                ftp.sendcmd("NOOP\r\nDELE x")
        finally:
            ftp.close()
    assert [event for event, _ in audit] == ["ftplib.connect"]
