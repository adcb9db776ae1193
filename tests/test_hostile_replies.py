"""Hostile input classes found by a differential run of rftplib against ftplib.

Each class ends as in ftplib (same value, or same exception class and
arguments), shown on ftplib and held on rftplib with ``each_lib``; the two
listed differences (README, "Known differences from ftplib") are tested as
rftplib's documented behaviour.
"""

import pytest
from faultserver import Accept, DataClose, DataSend, Reset, Sleep
from test_faults import PASV, WELCOME, check_raises, session

# -- arguments the connection's encoding cannot encode -----------------------------
#
# ftplib builds 'DELE ' + name in Python and encodes the whole line 'DELE
# ...\r\n' with the connection's encoding: the UnicodeEncodeError names that
# codec, holds the whole line, and counts from its start.

SURROGATE = "surrogates not allowed"
CHARMAP = "character maps to <undefined>"
LATIN1 = "ordinal not in range(256)"


@pytest.mark.parametrize(
    "encoding, method, args, expected",
    [
        ("utf-8", "delete", ("\udcff",), ("utf-8", "DELE \udcff\r\n", 5, 6, SURROGATE)),
        ("utf-8", "cwd", ("a\udcffb",), ("utf-8", "CWD a\udcffb\r\n", 5, 6, SURROGATE)),
        ("utf-8", "size", ("\ud800",), ("utf-8", "SIZE \ud800\r\n", 5, 6, SURROGATE)),
        ("utf-8", "mkd", ("d\udcff",), ("utf-8", "MKD d\udcff\r\n", 5, 6, SURROGATE)),
        ("utf-8", "rmd", ("\udcff",), ("utf-8", "RMD \udcff\r\n", 4, 5, SURROGATE)),
        ("utf-8", "acct", ("\udc80",), ("utf-8", "ACCT \udc80\r\n", 5, 6, SURROGATE)),
        ("utf-8", "login", ("\udcff",), ("utf-8", "USER \udcff\r\n", 5, 6, SURROGATE)),
        (
            "utf-8",
            "sendcmd",
            ("CWD \udcff",),
            ("utf-8", "CWD \udcff\r\n", 4, 5, SURROGATE),
        ),
        ("cp1252", "delete", ("ő",), ("charmap", "DELE ő\r\n", 5, 6, CHARMAP)),
        ("cp1252", "cwd", ("x\udcff",), ("charmap", "CWD x\udcff\r\n", 5, 6, CHARMAP)),
        ("latin-1", "mkd", ("文件",), ("latin-1", "MKD 文件\r\n", 4, 6, LATIN1)),
        (
            "latin-1",
            "delete",
            ("\udcff",),
            ("latin-1", "DELE \udcff\r\n", 5, 6, LATIN1),
        ),
    ],
)
def test_unencodable_argument(each_lib, encoding, method, args, expected):
    script = [WELCOME, ("NOOP", ["200 still in step"])]
    with session(each_lib, script, encoding=encoding) as (ftp, srv):
        e = check_raises(each_lib, "UnicodeEncodeError", getattr(ftp, method), *args)
        assert e.args == expected
        # Nothing was sent: the connection is still in step.
        assert ftp.voidcmd("NOOP") == "200 still in step"
        assert srv.commands == ["NOOP"]


def test_unencodable_second_argument_of_rename(each_lib):
    # RNFR goes out first; the line for RNTO is the one that fails.
    script = [WELCOME, ("RNFR a", ["350 ready"])]
    with session(each_lib, script) as (ftp, srv):
        e = check_raises(each_lib, "UnicodeEncodeError", ftp.rename, "a", "\udcff")
        assert e.args == ("utf-8", "RNTO \udcff\r\n", 5, 6, SURROGATE)
        assert srv.commands == ["RNFR a"]


@pytest.mark.parametrize(
    "method, args, text",
    [
        ("delete", (5,), 'can only concatenate str (not "int") to str'),
        ("mkd", (b"x",), 'can only concatenate str (not "bytes") to str'),
        ("nlst", ("a", 1), 'can only concatenate str (not "int") to str'),
    ],
)
def test_argument_that_is_not_text(each_lib, method, args, text):
    with session(each_lib, [WELCOME]) as (ftp, _srv):
        e = check_raises(each_lib, "TypeError", getattr(ftp, method), *args)
        assert str(e) == text


def test_debug_output_before_the_encoding_fails(each_lib, capsys):
    script = [WELCOME, ("USER u", ["331 password please"])]
    with session(each_lib, script) as (ftp, _srv):
        ftp.set_debuglevel(2)
        check_raises(each_lib, "UnicodeEncodeError", ftp.login, "u", "p\udcff")
        out = capsys.readouterr().out
    assert "*put* 'PASS **\\r\\n'" in out
    assert "*cmd* 'PASS **'" in out


def test_sanitize_text_with_a_lone_surrogate(each_lib):
    ftp = each_lib.FTP()
    assert ftp.sanitize("PASS s\udcff\r\n") == repr("PASS **\r\n")
    assert ftp.sanitize("CWD \udcff") == repr("CWD \udcff")


# -- MLSD fact names: the running Python's str.lower ---------------------------------
#
# Rust's Unicode tables are newer than Python's: U+A7CB and U+10D50 have
# lowercase forms from Unicode 16 on, which no Python up to 3.13 knows, and
# U+2C2F, U+A7C0 from Unicode 14 (Python 3.11), which 3.9 and 3.10 do not.
# The expected names are the running Python's own lowering.

ODD_FACTS = ["X\ua7cb", "\U00010d50", "\u2c2f", "\ua7c0", "ΑΣ", "İ", "Modify"]


def test_mlsd_fact_names_lowered_as_the_running_python_does(each_lib):
    facts = ";".join(f"{key}={n}" for n, key in enumerate(ODD_FACTS))
    listing = f"{facts}; name\r\n".encode()
    script = [
        WELCOME,
        ("TYPE A", ["200 ascii"]),
        PASV,
        ("MLSD", ["150 here", Accept(), DataSend(listing), DataClose(), "226 done"]),
    ]
    with session(each_lib, script) as (ftp, _srv):
        entries = list(ftp.mlsd())
    expected = {key.lower(): str(n) for n, key in enumerate(ODD_FACTS)}
    assert entries == [("name", expected)]
    assert list(entries[0][1]) == list(expected)


# -- an undecodable reply: a listed difference ---------------------------------------
#
# ftplib decodes what one read returned as a whole, so a bad byte loses that
# whole chunk (and where TCP splits the bytes decides what is lost). rftplib
# decodes line by line: it loses only the bad line, and the lines after it
# are read by the next command.


def test_undecodable_reply_line_in_one_chunk(each_lib):
    script = [
        WELCOME,
        ("STAT", [b"211-a\r\n211-caf\xe9\r\n211 end\r\n"]),
        ("NOOP", ["200 noop 1"]),
        ("NOOP", ["200 noop 2"]),
    ]
    with session(each_lib, script) as (ftp, _srv):
        e = check_raises(each_lib, "UnicodeDecodeError", ftp.sendcmd, "STAT")
        assert not isinstance(e, each_lib.all_errors)
        assert e.reason == "invalid continuation byte"
        if each_lib.__name__ == "ftplib":
            # The whole chunk is gone; the error counts from its start.
            assert e.object == b"211-a\r\n211-caf\xe9\r\n211 end\r\n"
            assert e.start == 14
            assert ftp.sendcmd("NOOP") == "200 noop 1"
        else:
            # Only the bad line is gone; the error counts from its start.
            assert e.object == b"211-caf\xe9\n"
            assert e.start == 7
            assert ftp.sendcmd("NOOP") == "211 end"
            assert ftp.sendcmd("NOOP") == "200 noop 1"


def test_undecodable_listing_line(each_lib):
    # retrlines: the lines before the bad one reach the callback in rftplib
    # only; the control connection ends in the same state.
    script = [
        WELCOME,
        ("TYPE A", ["200 ascii"]),
        PASV,
        (
            "LIST",
            [
                "150 here",
                Accept(),
                DataSend(b"one\r\ntw\xffo\r\nthree\r\n"),
                DataClose(),
                "226 done",
            ],
        ),
        ("NOOP", ["200 noop 1"]),
        ("NOOP", ["200 noop 2"]),
    ]
    with session(each_lib, script) as (ftp, _srv):
        lines = []
        e = check_raises(
            each_lib, "UnicodeDecodeError", ftp.retrlines, "LIST", lines.append
        )
        assert e.reason == "invalid start byte"
        if each_lib.__name__ == "ftplib":
            assert lines == []
            assert (e.object, e.start) == (b"one\r\ntw\xffo\r\nthree\r\n", 7)
        else:
            assert lines == ["one"]
            assert (e.object, e.start) == (b"tw\xffo\n", 2)
        # The transfer's final reply is left for the next command, in both.
        assert ftp.sendcmd("NOOP") == "226 done"
        assert ftp.sendcmd("NOOP") == "200 noop 1"


def test_undecodable_single_line_reply_ends_alike(each_lib):
    # The common case, a reply that is one bad line, ends the same way.
    script = [WELCOME, ("PWD", [b'257 "/caf\xe9"\r\n']), ("NOOP", ["200 noop"])]
    with session(each_lib, script) as (ftp, _srv):
        e = check_raises(each_lib, "UnicodeDecodeError", ftp.pwd)
        assert str(e) == (
            "'utf-8' codec can't decode byte 0xe9 in position 9: "
            "invalid continuation byte"
        )
        assert ftp.voidcmd("NOOP") == "200 noop"


# -- a reply ending in a bare CR, then a reset: a listed difference -------------------
#
# ftplib's text file waits for the byte after a CR to see whether it is an
# LF; the reset comes first, so the reply is lost in the error. rftplib
# returns the line at the CR, and the next command meets the reset.


def test_bare_cr_then_reset(each_lib):
    script = [WELCOME, ("NOOP", [b"200 ok\r", Sleep(0.2), Reset()])]
    with session(each_lib, script) as (ftp, _srv):
        if each_lib.__name__ == "ftplib":
            check_raises(each_lib, "ConnectionResetError", ftp.sendcmd, "NOOP")
        else:
            assert ftp.sendcmd("NOOP") == "200 ok"
            check_raises(each_lib, "ConnectionResetError", ftp.sendcmd, "NOOP")
        check_raises(each_lib, "BrokenPipeError", ftp.sendcmd, "NOOP")


def test_reset_in_the_middle_of_a_line_loses_the_part_received(each_lib):
    # Python's text file consumed "200 part" into the readline that failed;
    # the next read finds the end of the stream, not the partial line.
    script = [WELCOME, ("NOOP", [b"200 part", Sleep(0.2), Reset()])]
    with session(each_lib, script) as (ftp, _srv):
        check_raises(each_lib, "ConnectionResetError", ftp.sendcmd, "NOOP")
        check_raises(each_lib, "EOFError", ftp.getline)
