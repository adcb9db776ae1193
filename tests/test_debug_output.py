"""set_debuglevel(): what is printed at levels 1, 2 and 3, character for character."""

import re

import pytest
from faultserver import Accept, DataClose, DataSend, FaultServer, Pasv
from support import TIMEOUT

SCRIPT = [
    (None, ["220 welcome"]),
    ("USER user", ["331 username ok"]),
    ("PASS secret", ["230 logged in"]),
    ("NOOP", ["200 noop ok"]),
    ("STAT", [b"211-status\r\n line two\r\n211 end\r\n"]),
    ("TYPE A", ["200 type ok"]),
    ("PASV", [Pasv()]),
    (
        "LIST",
        ["150 here", Accept(), DataSend(b"foo\r\nbar\r\n"), DataClose(), "226 done"],
    ),
    ("ABOR", ["225 no transfer"]),
    ("QUIT", ["221 bye"]),
]


def run_session(lib, level, capsys):
    with FaultServer(SCRIPT) as srv:
        ftp = lib.FTP(timeout=TIMEOUT)
        ftp.set_debuglevel(level)
        try:
            ftp.connect(srv.host, srv.port)
            ftp.getwelcome()
            ftp.login("user", "secret")
            ftp.voidcmd("NOOP")
            ftp.sendcmd("STAT")
            ftp.retrlines("LIST", lambda line: None)
            ftp.abort()
            ftp.quit()
        finally:
            ftp.close()
    out = capsys.readouterr().out
    return re.sub(r"\(127,0,0,1,\d+,\d+\)", "(127,0,0,1,P1,P2)", out)


LEVEL_1 = """\
*resp* '220 welcome'
*welcome* '220 welcome'
*cmd* 'USER user'
*resp* '331 username ok'
*cmd* 'PASS ******'
*resp* '230 logged in'
*cmd* 'NOOP'
*resp* '200 noop ok'
*cmd* 'STAT'
*resp* '211-status\\n line two\\n211 end'
*cmd* 'TYPE A'
*resp* '200 type ok'
*cmd* 'PASV'
*resp* '227 Entering Passive Mode (127,0,0,1,P1,P2).'
*cmd* 'LIST'
*resp* '150 here'
*resp* '226 done'
*cmd* 'QUIT'
*resp* '221 bye'
"""

LEVEL_2 = """\
*get* '220 welcome\\n'
*resp* '220 welcome'
*welcome* '220 welcome'
*cmd* 'USER user'
*put* 'USER user\\r\\n'
*get* '331 username ok\\n'
*resp* '331 username ok'
*cmd* 'PASS ******'
*put* 'PASS ******\\r\\n'
*get* '230 logged in\\n'
*resp* '230 logged in'
*cmd* 'NOOP'
*put* 'NOOP\\r\\n'
*get* '200 noop ok\\n'
*resp* '200 noop ok'
*cmd* 'STAT'
*put* 'STAT\\r\\n'
*get* '211-status\\n'
*get* ' line two\\n'
*get* '211 end\\n'
*resp* '211-status\\n line two\\n211 end'
*cmd* 'TYPE A'
*put* 'TYPE A\\r\\n'
*get* '200 type ok\\n'
*resp* '200 type ok'
*cmd* 'PASV'
*put* 'PASV\\r\\n'
*get* '227 Entering Passive Mode (127,0,0,1,P1,P2).\\n'
*resp* '227 Entering Passive Mode (127,0,0,1,P1,P2).'
*cmd* 'LIST'
*put* 'LIST\\r\\n'
*get* '150 here\\n'
*resp* '150 here'
*get* '226 done\\n'
*resp* '226 done'
*put urgent* b'ABOR\\r\\n'
*get* '225 no transfer\\n'
*cmd* 'QUIT'
*put* 'QUIT\\r\\n'
*get* '221 bye\\n'
*resp* '221 bye'
"""

LEVEL_3 = LEVEL_2.replace(
    "*resp* '150 here'\n",
    "*resp* '150 here'\n*retr* 'foo\\n'\n*retr* 'bar\\n'\n*retr* ''\n",
)


def test_level_0_prints_nothing(lib, capsys):
    assert run_session(lib, 0, capsys) == ""


def test_level_1(lib, capsys):
    assert run_session(lib, 1, capsys) == LEVEL_1


def test_level_2(lib, capsys):
    assert run_session(lib, 2, capsys) == LEVEL_2


def test_level_3(lib, capsys):
    assert run_session(lib, 3, capsys) == LEVEL_3


def test_debug_is_set_debuglevel(lib):
    ftp = lib.FTP()
    ftp.debug(2)
    assert ftp.debugging == 2
    ftp.set_debuglevel(0)
    assert ftp.debugging == 0


def test_getwelcome_prints_only_when_debugging(lib, ftpd, capsys):
    ftp = lib.FTP(timeout=TIMEOUT)
    try:
        ftp.connect(ftpd.host, ftpd.port)
        capsys.readouterr()
        ftp.getwelcome()
        assert capsys.readouterr().out == ""
        ftp.set_debuglevel(1)
        ftp.getwelcome()
        assert capsys.readouterr().out == "*welcome* '220 pyftpdlib ready.'\n"
    finally:
        ftp.close()


def test_password_is_masked_against_a_real_server(lib, ftpd, capsys):
    ftp = lib.FTP(timeout=TIMEOUT)
    try:
        ftp.connect(ftpd.host, ftpd.port)
        ftp.set_debuglevel(2)
        ftp.login(ftpd.user, ftpd.password)
    finally:
        ftp.close()
    out = capsys.readouterr().out
    stars = "*" * len(ftpd.password)
    assert f"*cmd* 'PASS {stars}'\n" in out
    assert f"*put* 'PASS {stars}\\r\\n'\n" in out
    assert f"PASS {ftpd.password}" not in out


@pytest.mark.parametrize(
    "line, shown",
    [
        ("PASS secret", "'PASS ******'"),
        ("pass secret", "'pass ******'"),
        ("PASS secret\r\n", "'PASS ******\\r\\n'"),
        ("PASS ", "'PASS '"),
        ("Pass secret", "'Pass secret'"),  # only exactly 'PASS ' or 'pass ' is masked
        ("PASSsecret", "'PASSsecret'"),
        ("USER me", "'USER me'"),
        ("NOOP\r\n", "'NOOP\\r\\n'"),
    ],
)
def test_sanitize(lib, line, shown):
    assert lib.FTP().sanitize(line) == shown
