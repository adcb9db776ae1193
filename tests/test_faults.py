"""Faults a real server will not produce, from a scripted fake server.

Every test runs twice, on ftplib and on rftplib (``each_lib``): the ftplib run
shows what the standard library does, the rftplib run holds the replacement
to it. Exception classes are compared exactly, with the module's own class.
"""

import builtins
import contextlib
import io
import socket

import pytest
from faultserver import (
    Accept,
    Close,
    DataClose,
    DataRecv,
    DataReset,
    DataSend,
    Epsv,
    FaultServer,
    Pasv,
    Reset,
    Sleep,
)
from support import TIMEOUT

WELCOME = (None, ["220 fault server"])
PASV = ("PASV", [Pasv()])


@contextlib.contextmanager
def session(
    lib, script, *, family=socket.AF_INET, connect=True, timeout=TIMEOUT, **kwargs
):
    """A client of ``lib`` talking to a FaultServer running ``script``."""
    with FaultServer(script, family=family) as srv:
        ftp = lib.FTP(timeout=timeout, **kwargs)
        try:
            if connect:
                ftp.connect(srv.host, srv.port)
            yield ftp, srv
        finally:
            ftp.close()


def exc_class(lib, name):
    """``lib.error_perm`` for 'error_perm', the builtin for 'EOFError'."""
    return getattr(lib, name, None) or getattr(builtins, name)


def check_raises(lib, name, func, *args, **kwargs):
    expected = exc_class(lib, name)
    with pytest.raises(expected) as excinfo:
        func(*args, **kwargs)
    assert excinfo.type is expected, f"{excinfo.type.__name__} raised, {name} expected"
    return excinfo.value


def retr_script(*actions, cmd="RETR f"):
    return [WELCOME, ("TYPE I", ["200 binary"]), PASV, (cmd, list(actions))]


# -- the greeting and reply classification ----------------------------------


@pytest.mark.parametrize(
    "greeting, name, text",
    [
        (b"abc\r\n", "error_proto", "abc"),
        (b" 200 leading space\r\n", "error_proto", " 200 leading space"),
        (b"600 x\r\n", "error_proto", "600 x"),
        (b"\r\n", "error_proto", ""),
        (b"421 too many users\r\n", "error_temp", "421 too many users"),
        (b"530 go away\r\n", "error_perm", "530 go away"),
    ],
)
def test_bad_greeting(each_lib, greeting, name, text):
    with session(each_lib, [(None, [greeting])], connect=False) as (ftp, srv):
        e = check_raises(each_lib, name, ftp.connect, srv.host, srv.port)
        assert str(e) == text
        assert ftp.sock is not None  # ftplib leaves the socket open for close()


@pytest.mark.parametrize(
    "greeting, welcome",
    [
        (b"120 ready in a minute\r\n", "120 ready in a minute"),
        (b"220 lf only\n", "220 lf only"),
        (b"220\r\n", "220"),
        (
            b"220-first\r\n 220 indented\r\n220-still going\r\n220\r\n",
            "220-first\n 220 indented\n220-still going\n220",
        ),
        (
            b"220-a\r\n530 not the end\r\n\r\n220 end\r\n",
            "220-a\n530 not the end\n\n220 end",
        ),
    ],
)
def test_greeting_variants(each_lib, greeting, welcome):
    with session(each_lib, [(None, [greeting])], connect=False) as (ftp, srv):
        assert ftp.connect(srv.host, srv.port) == welcome
        assert ftp.getwelcome() == welcome


def test_eof_before_the_greeting(each_lib):
    with session(each_lib, [(None, [Close()])], connect=False) as (ftp, srv):
        check_raises(each_lib, "EOFError", ftp.connect, srv.host, srv.port)


def test_reset_before_the_greeting(each_lib):
    with session(each_lib, [(None, [Sleep(0.2), Reset()])], connect=False) as (
        ftp,
        srv,
    ):
        check_raises(each_lib, "ConnectionResetError", ftp.connect, srv.host, srv.port)


def test_eof_in_a_multiline_reply(each_lib):
    script = [(None, [b"220-first line\r\n220-second line\r\n", Close()])]
    with session(each_lib, script, connect=False) as (ftp, srv):
        check_raises(each_lib, "EOFError", ftp.connect, srv.host, srv.port)


def test_eof_in_the_middle_of_a_line_delivers_the_partial_line(each_lib):
    script = [(None, [b"220 no line end", Close()])]
    with session(each_lib, script, connect=False) as (ftp, srv):
        assert ftp.connect(srv.host, srv.port) == "220 no line end"


def test_eof_instead_of_a_reply(each_lib):
    # The server reads the command, then closes: a clean EOF. (Closing with
    # the command still unread would make the kernel send a RST instead.)
    script = [WELCOME, ("USER u", ["230 in"]), ("NOOP", [Close()])]
    with session(each_lib, script) as (ftp, _srv):
        ftp.login("u")
        check_raises(each_lib, "EOFError", ftp.voidcmd, "NOOP")


@pytest.mark.parametrize(
    "reply, name",
    [
        ("150 too early", "error_reply"),
        ("350 need more", "error_reply"),
        ("450 busy", "error_temp"),
        ("550 denied", "error_perm"),
        ("650 what", "error_proto"),
        ("x00 what", "error_proto"),
    ],
)
def test_voidcmd_rejects_non_2xx(each_lib, reply, name):
    with session(each_lib, [WELCOME, ("NOOP", [reply])]) as (ftp, _srv):
        e = check_raises(each_lib, name, ftp.voidcmd, "NOOP")
        assert str(e) == reply
        assert e.args == (reply,)


@pytest.mark.parametrize("reply", ["150 fine", "250 fine", "350 fine", "200"])
def test_sendcmd_returns_1xx_2xx_3xx(each_lib, reply):
    with session(each_lib, [WELCOME, ("SITE X", [reply])]) as (ftp, _srv):
        assert ftp.sendcmd("SITE X") == reply


def test_lastresp_is_set_before_classifying(each_lib):
    with session(each_lib, [WELCOME, ("NOOP", ["553 nope"])]) as (ftp, _srv):
        check_raises(each_lib, "error_perm", ftp.voidcmd, "NOOP")
        assert ftp.lastresp == "553"


def test_multiline_error_reply_keeps_every_line(each_lib):
    script = [
        WELCOME,
        ("CWD x", [b"550-no such directory\r\n550-really\r\n550 end\r\n"]),
    ]
    with session(each_lib, script) as (ftp, _srv):
        e = check_raises(each_lib, "error_perm", ftp.cwd, "x")
        assert str(e) == "550-no such directory\n550-really\n550 end"


def test_bare_cr_ends_a_line(each_lib):
    script = [WELCOME, ("NOOP", [b"200 a\rb\r\n"])]
    with session(each_lib, script) as (ftp, _srv):
        assert ftp.voidcmd("NOOP") == "200 a"
        # The text after the bare CR is the next "reply".
        e = check_raises(each_lib, "error_proto", ftp.getresp)
        assert str(e) == "b"


def test_crlf_split_across_packets(each_lib):
    script = [(None, [b"220 hello\r", Sleep(0.2), b"\n"]), ("NOOP", ["200 ok"])]
    with session(each_lib, script, connect=False) as (ftp, srv):
        assert ftp.connect(srv.host, srv.port) == "220 hello"
        assert ftp.voidcmd("NOOP") == "200 ok"


def test_utf8_character_split_across_packets(each_lib):
    script = [(None, [b"220 caf\xc3", Sleep(0.2), b"\xa9\r\n"])]
    with session(each_lib, script, connect=False) as (ftp, srv):
        assert ftp.connect(srv.host, srv.port) == "220 café"


def test_multiline_reply_split_across_packets(each_lib):
    script = [
        (
            None,
            [
                b"220-fir",
                Sleep(0.1),
                b"st\r\n22",
                Sleep(0.1),
                b"0 end\r",
                Sleep(0.1),
                b"\n",
            ],
        ),
        ("NOOP", ["200 ok"]),
    ]
    with session(each_lib, script, connect=False) as (ftp, srv):
        assert ftp.connect(srv.host, srv.port) == "220-first\n220 end"
        assert ftp.voidcmd("NOOP") == "200 ok"


def test_listing_lines_split_across_packets(each_lib):
    script = [
        WELCOME,
        ("TYPE A", ["200 ascii"]),
        PASV,
        (
            "LIST",
            [
                "150 here",
                Accept(),
                DataSend(b"l1\r"),
                Sleep(0.2),
                DataSend(b"\nl\xc3"),
                Sleep(0.2),
                DataSend(b"\xa92\r\n"),
                DataClose(),
                "226 done",
            ],
        ),
    ]
    with session(each_lib, script) as (ftp, _srv):
        lines = []
        ftp.retrlines("LIST", lines.append)
        assert lines == ["l1", "lé2"]


# -- line length --------------------------------------------------------------


def test_control_line_longer_than_maxline(each_lib):
    script = [(None, [b"220 " + b"x" * 9000 + b"\r\n"])]
    with session(each_lib, script, connect=False) as (ftp, srv):
        e = check_raises(each_lib, "Error", ftp.connect, srv.host, srv.port)
        assert str(e) == "got more than 8192 bytes"


def test_control_line_of_exactly_maxline_characters_passes(each_lib):
    text = "220 " + "x" * (8191 - 4)  # 8191 characters plus the newline
    with session(each_lib, [(None, [text])], connect=False) as (ftp, srv):
        assert ftp.connect(srv.host, srv.port) == text


def test_control_line_one_character_over_maxline_fails(each_lib):
    text = "220 " + "x" * (8192 - 4)
    with session(each_lib, [(None, [text])], connect=False) as (ftp, srv):
        check_raises(each_lib, "Error", ftp.connect, srv.host, srv.port)


def test_maxline_counts_characters_not_bytes(each_lib):
    text = "220 " + "é" * (8191 - 4)  # 16,378 bytes of UTF-8
    with session(each_lib, [(None, [text])], connect=False) as (ftp, srv):
        assert ftp.connect(srv.host, srv.port) == text


def test_maxline_attribute_is_honoured(each_lib):
    script = [WELCOME, ("NOOP", ["200 " + "y" * 150])]
    with session(each_lib, script) as (ftp, _srv):
        ftp.maxline = 100
        e = check_raises(each_lib, "Error", ftp.voidcmd, "NOOP")
        assert str(e) == "got more than 100 bytes"


def test_list_line_longer_than_maxline(each_lib):
    script = [
        WELCOME,
        ("TYPE A", ["200 ascii"]),
        PASV,
        (
            "LIST",
            [
                "150 here",
                Accept(),
                DataSend(b"ok line\r\n" + b"z" * 9000 + b"\r\n"),
                DataClose(),
                "226 done",
            ],
        ),
    ]
    with session(each_lib, script) as (ftp, _srv):
        lines = []
        e = check_raises(each_lib, "Error", ftp.retrlines, "LIST", lines.append)
        assert str(e) == "got more than 8192 bytes"
        assert lines == ["ok line"]


# -- encodings ------------------------------------------------------------------


def test_invalid_utf8_in_a_reply_raises_unicode_decode_error(each_lib):
    script = [(None, [b"220 caf\xe9\r\n"])]
    with session(each_lib, script, connect=False) as (ftp, srv):
        e = check_raises(
            each_lib, "UnicodeDecodeError", ftp.connect, srv.host, srv.port
        )
        assert not isinstance(e, each_lib.all_errors)  # a ValueError, not in all_errors


def test_latin1_decodes_any_reply(each_lib):
    script = [(None, [b"220 caf\xe9\r\n"])]
    with session(each_lib, script, connect=False, encoding="latin-1") as (ftp, srv):
        assert ftp.connect(srv.host, srv.port) == "220 café"


def test_invalid_utf8_in_a_listing(each_lib):
    script = [
        WELCOME,
        ("TYPE A", ["200 ascii"]),
        PASV,
        (
            "LIST",
            [
                "150 here",
                Accept(),
                DataSend(b"bad \xff name\r\n"),
                DataClose(),
                "226 done",
            ],
        ),
    ]
    with session(each_lib, script) as (ftp, _srv):
        check_raises(
            each_lib, "UnicodeDecodeError", ftp.retrlines, "LIST", lambda line: None
        )


def test_retrlines_splits_on_any_line_ending(each_lib):
    script = [
        WELCOME,
        ("TYPE A", ["200 ascii"]),
        PASV,
        (
            "LIST",
            [
                "150 here",
                Accept(),
                DataSend(b"l1\r\nl2\nl3\rl4"),
                DataClose(),
                "226 done",
            ],
        ),
    ]
    with session(each_lib, script) as (ftp, _srv):
        lines = []
        assert ftp.retrlines("LIST", lines.append) == "226 done"
        assert lines == ["l1", "l2", "l3", "l4"]


def test_retrlines_sends_type_a_with_sendcmd(each_lib):
    # retrlines uses sendcmd('TYPE A'), so a 3xx answer is not an error.
    script = [
        WELCOME,
        ("TYPE A", ["331 odd but accepted"]),
        PASV,
        ("NLST", ["150 here", Accept(), DataSend(b"a\r\n"), DataClose(), "226 done"]),
    ]
    with session(each_lib, script) as (ftp, _srv):
        assert ftp.nlst() == ["a"]


# -- transfers that go wrong ----------------------------------------------------------


def test_eof_before_the_final_transfer_reply(each_lib):
    script = retr_script(
        "150 here", Accept(), DataSend(b"all the data"), DataClose(), Close()
    )
    with session(each_lib, script) as (ftp, _srv):
        chunks = []
        check_raises(each_lib, "EOFError", ftp.retrbinary, "RETR f", chunks.append)
        assert b"".join(chunks) == b"all the data"


def test_data_connection_reset_mid_transfer(each_lib):
    script = retr_script(
        "150 here",
        Accept(),
        DataSend(b"a" * 100_000),
        DataReset(),
        "226 pretends all went well",
    )
    with session(each_lib, script) as (ftp, _srv):
        chunks = []
        check_raises(
            each_lib, "ConnectionResetError", ftp.retrbinary, "RETR f", chunks.append
        )
        assert len(b"".join(chunks)) <= 100_000  # never more, never a clean end


@pytest.mark.parametrize(
    "final, name",
    [
        ("451 local error", "error_temp"),
        ("426 aborted", "error_temp"),
        ("550 gone", "error_perm"),
        ("150 again", "error_reply"),
    ],
)
def test_failure_reply_after_the_data(each_lib, final, name):
    script = retr_script("150 here", Accept(), DataSend(b"partial"), DataClose(), final)
    with session(each_lib, script) as (ftp, _srv):
        chunks = []
        e = check_raises(each_lib, name, ftp.retrbinary, "RETR f", chunks.append)
        assert str(e) == final
        assert chunks == [b"partial"]


def test_2xx_before_the_150_is_skipped(each_lib):
    script = retr_script(
        "200 preliminary",
        "150 here",
        Accept(),
        DataSend(b"data"),
        DataClose(),
        "226 done",
    )
    with session(each_lib, script) as (ftp, _srv):
        chunks = []
        assert ftp.retrbinary("RETR f", chunks.append) == "226 done"
        assert chunks == [b"data"]


def test_2xx_instead_of_150(each_lib):
    script = retr_script("200 preliminary", "226 nothing to send")
    with session(each_lib, script) as (ftp, _srv):
        e = check_raises(
            each_lib, "error_reply", ftp.retrbinary, "RETR f", lambda d: None
        )
        assert str(e) == "226 nothing to send"


@pytest.mark.parametrize(
    "reply, name",
    [
        ("550 no such file", "error_perm"),
        ("425 cannot open data connection", "error_temp"),
        ("350 huh", "error_reply"),
    ],
)
def test_transfer_refused(each_lib, reply, name):
    with session(each_lib, retr_script(reply)) as (ftp, _srv):
        chunks = []
        e = check_raises(each_lib, name, ftp.retrbinary, "RETR f", chunks.append)
        assert str(e) == reply
        assert chunks == []


def test_stor_rejected_after_the_data(each_lib):
    script = [
        WELCOME,
        ("TYPE I", ["200 binary"]),
        PASV,
        ("STOR f", ["150 send it", Accept(), DataRecv(), "552 quota exceeded"]),
    ]
    with session(each_lib, script) as (ftp, srv):
        check_raises(
            each_lib, "error_perm", ftp.storbinary, "STOR f", io.BytesIO(b"q" * 5000)
        )
    assert srv.received == b"q" * 5000


def test_stor_data_connection_reset(each_lib):
    script = [
        WELCOME,
        ("TYPE I", ["200 binary"]),
        PASV,
        ("STOR f", ["150 send it", Accept(), DataReset(), "426 reset"]),
    ]
    with session(each_lib, script) as (ftp, _srv):
        with pytest.raises(OSError) as excinfo:
            ftp.storbinary("STOR f", io.BytesIO(b"w" * (8 << 20)))
        assert excinfo.type in (BrokenPipeError, ConnectionResetError)


def test_storlines_normalises_line_endings_on_the_wire(each_lib):
    script = [
        WELCOME,
        ("TYPE A", ["200 ascii"]),
        PASV,
        ("STOR t", ["150 send it", Accept(), DataRecv(), "226 stored"]),
    ]
    with session(each_lib, script) as (ftp, srv):
        seen = []
        body = io.BytesIO(b"a\nb\r\nc\rd\ne")
        assert ftp.storlines("STOR t", body, callback=seen.append) == "226 stored"
    assert srv.received == b"a\r\nb\r\nc\rd\r\ne\r\n"
    assert seen == [b"a\r\n", b"b\r\n", b"c\rd\r\n", b"e\r\n"]


def test_storlines_line_longer_than_maxline(each_lib):
    script = [
        WELCOME,
        ("TYPE A", ["200 ascii"]),
        PASV,
        ("STOR t", ["150 send it", Accept(), DataRecv(), "226 stored"]),
    ]
    with session(each_lib, script) as (ftp, _srv):
        body = io.BytesIO(b"x" * 9000 + b"\n")
        e = check_raises(each_lib, "Error", ftp.storlines, "STOR t", body)
        assert str(e) == "got more than 8192 bytes"


def test_control_reply_timeout(each_lib):
    script = [WELCOME, ("NOOP", [Sleep(5)])]
    with (
        session(each_lib, script, timeout=0.3) as (ftp, _srv),
        pytest.raises(socket.timeout),  # TimeoutError from 3.10
    ):
        ftp.voidcmd("NOOP")


def test_data_timeout(each_lib):
    script = retr_script("150 here", Accept(), DataSend(b"first"), Sleep(5))
    with session(each_lib, script, timeout=0.3) as (ftp, _srv):
        chunks = []
        with pytest.raises(socket.timeout):
            ftp.retrbinary("RETR f", chunks.append)
        assert chunks == [b"first"]


# -- replies the helpers parse -------------------------------------------------------


@pytest.mark.parametrize(
    "reply, size",
    [
        ("213 12", 12),
        ("213   42  ", 42),
        ("250 1000", None),
        ("150 x", None),
        ("350 x", None),
    ],
)
def test_size_reply(each_lib, reply, size):
    with session(each_lib, [WELCOME, ("SIZE f", [reply])]) as (ftp, _srv):
        assert ftp.size("f") == size


def test_size_reply_not_a_number(each_lib):
    with session(each_lib, [WELCOME, ("SIZE f", ["213 abc"])]) as (ftp, _srv):
        check_raises(each_lib, "ValueError", ftp.size, "f")


@pytest.mark.parametrize(
    "reply, name", [("550 no", "error_perm"), ("450 later", "error_temp")]
)
def test_size_error(each_lib, reply, name):
    with session(each_lib, [WELCOME, ("SIZE f", [reply])]) as (ftp, _srv):
        check_raises(each_lib, name, ftp.size, "f")


@pytest.mark.parametrize(
    "reply, size",
    [
        ("150 Opening BINARY connection for f (1234 bytes)", 1234),
        ("150 File (12 BYTES)", 12),
        ("150 (12 bytes)", None),
        ("150 Opening data connection", None),
        ("125 Transfer starting (12 bytes)", None),
    ],
)
def test_ntransfercmd_size_from_the_150_reply(each_lib, reply, size):
    script = [WELCOME, PASV, ("RETR f", [reply, Accept(), DataClose(), "226 done"])]
    with session(each_lib, script) as (ftp, _srv):
        conn, got = ftp.ntransfercmd("RETR f")
        conn.close()
        assert got == size
        assert ftp.voidresp() == "226 done"


@pytest.mark.parametrize(
    "reply, name",
    [
        ("227 no numbers here", "error_proto"),
        ("500 PASV not understood", "error_perm"),
        ("200 not a 227", "error_reply"),
    ],
)
def test_bad_pasv_reply(each_lib, reply, name):
    with session(
        each_lib, [WELCOME, ("TYPE I", ["200 binary"]), ("PASV", [reply])]
    ) as (ftp, _srv):
        check_raises(each_lib, name, ftp.retrbinary, "RETR f", lambda d: None)


def test_pasv_reply_without_parentheses(each_lib):
    script = [
        WELCOME,
        ("TYPE I", ["200 binary"]),
        ("PASV", [Pasv(text="=")]),
        ("RETR f", ["150 go", Accept(), DataSend(b"ok"), DataClose(), "226 done"]),
    ]
    with session(each_lib, script) as (ftp, _srv):
        chunks = []
        ftp.retrbinary("RETR f", chunks.append)
        assert chunks == [b"ok"]


@pytest.mark.parametrize(
    "reply, name",
    [
        ("229 no parentheses", "error_proto"),
        ("229 (|||abc|)", "ValueError"),
        ("229 (|||1|", "error_proto"),
    ],
)
def test_bad_epsv_reply(each_lib, reply, name):
    script = [WELCOME, ("EPSV", [reply])]
    with session(each_lib, script, family=socket.AF_INET6) as (ftp, _srv):
        check_raises(each_lib, name, ftp.makepasv)


def test_epsv_ignores_the_host_and_accepts_any_delimiter(each_lib):
    with session(
        each_lib, [WELCOME, ("EPSV", ["229 ok (!!!6446!)"])], family=socket.AF_INET6
    ) as (ftp, _srv):
        assert ftp.makepasv() == ("::1", 6446)


def test_pasv_address_is_ignored_by_default(each_lib):
    script = retr_script(
        "150 go", Accept(), DataSend(b"via peer"), DataClose(), "226 done"
    )
    script[2] = ("PASV", [Pasv(listen="127.0.0.1", advertise="127.0.0.2")])
    with session(each_lib, script) as (ftp, _srv):
        chunks = []
        ftp.retrbinary("RETR f", chunks.append)
        assert chunks == [b"via peer"]


def test_makepasv_returns_the_peer_unless_trusted(each_lib):
    script = [
        WELCOME,
        ("PASV", ["227 Entering Passive Mode (127,0,0,2,4,1)."]),
        ("PASV", ["227 Entering Passive Mode (127,0,0,2,4,1)."]),
    ]
    with session(each_lib, script) as (ftp, _srv):
        assert ftp.makepasv() == ("127.0.0.1", 1025)
        ftp.trust_server_pasv_ipv4_address = True
        assert ftp.makepasv() == ("127.0.0.2", 1025)


def test_trusted_pasv_address_is_used(each_lib):
    script = retr_script(
        "150 go", Accept(), DataSend(b"via 127.0.0.2"), DataClose(), "226 done"
    )
    script[2] = ("PASV", [Pasv(listen="127.0.0.2")])
    with session(each_lib, script) as (ftp, _srv):
        ftp.trust_server_pasv_ipv4_address = True
        chunks = []
        ftp.retrbinary("RETR f", chunks.append)
        assert chunks == [b"via 127.0.0.2"]


def test_trusted_pasv_address_that_refuses(each_lib):
    script = [
        WELCOME,
        ("TYPE I", ["200 binary"]),
        ("PASV", [Pasv(listen="127.0.0.1", advertise="127.0.0.2")]),
    ]
    with session(each_lib, script) as (ftp, _srv):
        ftp.trust_server_pasv_ipv4_address = True
        check_raises(
            each_lib, "ConnectionRefusedError", ftp.retrbinary, "RETR f", lambda d: None
        )


# -- commands with their own reply rules -------------------------------------------------


@pytest.mark.parametrize("reply", ["426 aborted", "225 nothing to abort", "226 closed"])
def test_abort_accepts_426_225_226(each_lib, reply):
    with session(each_lib, [WELCOME, ("ABOR", [reply])]) as (ftp, _srv):
        assert ftp.abort() == reply


@pytest.mark.parametrize("reply", ["500 what", "200 ok", "550 no"])
def test_abort_rejects_other_replies_with_error_proto(each_lib, reply):
    with session(each_lib, [WELCOME, ("ABOR", [reply])]) as (ftp, _srv):
        e = check_raises(each_lib, "error_proto", ftp.abort)
        assert str(e) == reply


def test_login_230_to_user_sends_no_pass(each_lib):
    with session(each_lib, [WELCOME, ("USER u", ["230 no password needed"])]) as (
        ftp,
        srv,
    ):
        assert ftp.login("u", "p") == "230 no password needed"
    assert srv.commands == ["USER u"]


def test_login_sends_acct_after_a_3xx_to_pass(each_lib):
    script = [
        WELCOME,
        ("USER u", ["331 pass"]),
        ("PASS p", ["332 account"]),
        ("ACCT ", ["230 in"]),
    ]
    with session(each_lib, script) as (ftp, srv):
        assert ftp.login("u", "p") == "230 in"
    assert srv.commands == ["USER u", "PASS p", "ACCT "]


def test_login_dash_password_for_anonymous(each_lib):
    script = [
        WELCOME,
        ("USER anonymous", ["331 pass"]),
        ("PASS -anonymous@", ["230 in"]),
    ]
    with session(each_lib, script) as (ftp, srv):
        ftp.login(passwd="-")
    assert srv.commands == ["USER anonymous", "PASS -anonymous@"]


def test_login_non_2xx_final_reply(each_lib):
    script = [
        WELCOME,
        ("USER u", ["331 pass"]),
        ("PASS p", ["332 account"]),
        ("ACCT a", ["331 still not"]),
    ]
    with session(each_lib, script) as (ftp, _srv):
        check_raises(each_lib, "error_reply", ftp.login, "u", "p", "a")


def test_delete_accepts_only_250_or_200(each_lib):
    script = [WELCOME, ("DELE a", ["200 ok"]), ("DELE b", ["226 odd"])]
    with session(each_lib, script) as (ftp, _srv):
        assert ftp.delete("a") == "200 ok"
        check_raises(each_lib, "error_reply", ftp.delete, "b")


@pytest.mark.parametrize(
    "reply, path",
    [
        ('257 "/a""b" created', '/a"b'),
        ("257 no quotes", ""),
        ('257 "/unterminated', "/unterminated"),
        ("250 made it", ""),
    ],
)
def test_mkd_reply_parsing(each_lib, reply, path):
    with session(each_lib, [WELCOME, ("MKD d", [reply])]) as (ftp, _srv):
        assert ftp.mkd("d") == path


def test_pwd_reply_parsing(each_lib):
    with session(each_lib, [WELCOME, ("PWD", ['257 "/with ""quotes""" is cwd'])]) as (
        ftp,
        _srv,
    ):
        assert ftp.pwd() == '/with "quotes"'


def test_rename_needs_a_3xx_to_rnfr(each_lib):
    with session(each_lib, [WELCOME, ("RNFR a", ["250 odd"])]) as (ftp, _srv):
        check_raises(each_lib, "error_reply", ftp.rename, "a", "b")


def test_rename_rnto_refused(each_lib):
    script = [WELCOME, ("RNFR a", ["350 ready"]), ("RNTO b", ["553 bad name"])]
    with session(each_lib, script) as (ftp, _srv):
        check_raises(each_lib, "error_perm", ftp.rename, "a", "b")


def test_cwd_dotdot_falls_back_to_cwd_when_cdup_is_unknown(each_lib):
    script = [WELCOME, ("CDUP", ["500 CDUP not understood"]), ("CWD ..", ["250 up"])]
    with session(each_lib, script) as (ftp, srv):
        assert ftp.cwd("..") == "250 up"
    assert srv.commands == ["CDUP", "CWD .."]


def test_cwd_dotdot_other_cdup_errors_propagate(each_lib):
    with session(each_lib, [WELCOME, ("CDUP", ["550 denied"])]) as (ftp, srv):
        check_raises(each_lib, "error_perm", ftp.cwd, "..")
    assert srv.commands == ["CDUP"]


def test_cwd_empty_sends_cwd_dot(each_lib):
    with session(each_lib, [WELCOME, ("CWD .", ["250 here"])]) as (ftp, srv):
        assert ftp.cwd("") == "250 here"
    assert srv.commands == ["CWD ."]


def test_nlst_keeps_empty_arguments(each_lib):
    script = [
        WELCOME,
        ("TYPE A", ["200 ascii"]),
        PASV,
        ("NLST a  b", ["150 here", Accept(), DataClose(), "226 done"]),
    ]
    with session(each_lib, script) as (ftp, srv):
        assert ftp.nlst("a", "", "b") == []
    assert srv.commands[-1] == "NLST a  b"


def test_mlsd_facts_parsing(each_lib):
    listing = (
        b"type=file;size=10;Modify=20200101000000; name with spaces.txt\r\n"
        b"type=dir;perm=el; sub;dir\r\n"
        b"Type==; odd\r\n"
    )
    script = [
        WELCOME,
        ("OPTS MLST type;size;", ["200 ok"]),
        ("TYPE A", ["200 ascii"]),
        PASV,
        ("MLSD", ["150 here", Accept(), DataSend(listing), DataClose(), "226 done"]),
    ]
    with session(each_lib, script) as (ftp, _srv):
        entries = list(ftp.mlsd(facts=["type", "size"]))
    assert entries == [
        (
            "name with spaces.txt",
            {"type": "file", "size": "10", "modify": "20200101000000"},
        ),
        ("sub;dir", {"type": "dir", "perm": "el"}),
        ("odd", {"type": "="}),
    ]


def test_quit_error_propagates_out_of_with_and_closes(each_lib):
    script = [WELCOME, ("QUIT", ["550 error on quit"])]
    with FaultServer(script) as srv:
        with (
            pytest.raises(each_lib.error_perm) as excinfo,
            each_lib.FTP(timeout=TIMEOUT) as ftp,
        ):
            ftp.connect(srv.host, srv.port)
        assert excinfo.type is each_lib.error_perm
        assert ftp.sock is None


def test_quit_eof_is_swallowed_by_with(each_lib):
    script = [WELCOME, ("QUIT", [Close()])]
    with FaultServer(script) as srv:
        with each_lib.FTP(timeout=TIMEOUT) as ftp:
            ftp.connect(srv.host, srv.port)
        assert ftp.sock is None


def test_quit_error_does_not_close(each_lib):
    with session(each_lib, [WELCOME, ("QUIT", ["500 no"])]) as (ftp, _srv):
        check_raises(each_lib, "error_perm", ftp.quit)
        assert ftp.sock is not None


@pytest.mark.parametrize("command", ["NOOP\r\nDELE x", "NOOP\nDELE x", "NOOP\rDELE x"])
def test_crlf_injection_is_refused_before_sending(each_lib, command):
    with session(each_lib, [WELCOME, ("NOOP", ["200 ok"])]) as (ftp, srv):
        check_raises(each_lib, "ValueError", ftp.sendcmd, command)
        assert ftp.voidcmd("NOOP") == "200 ok"
    assert srv.commands == ["NOOP"]


def test_crlf_in_a_transfer_command_is_refused(each_lib):
    script = [WELCOME, ("TYPE I", ["200 binary"]), PASV]
    with session(each_lib, script) as (ftp, srv):
        check_raises(
            each_lib, "ValueError", ftp.retrbinary, "RETR a\r\nDELE b", lambda d: None
        )
    assert srv.commands == ["TYPE I", "PASV"]


def test_transfer_commands_sent_in_order(each_lib):
    script = [
        WELCOME,
        ("TYPE I", ["200 binary"]),
        PASV,
        ("REST 5", ["350 ok"]),
        ("RETR f", ["150 go", Accept(), DataSend(b"tail"), DataClose(), "226 done"]),
    ]
    with session(each_lib, script) as (ftp, srv):
        ftp.retrbinary("RETR f", lambda d: None, rest=5)
    assert srv.commands == ["TYPE I", "PASV", "REST 5", "RETR f"]


def test_active_mode_sends_port(each_lib):
    from faultserver import PortConnect

    script = [
        WELCOME,
        ("TYPE I", ["200 binary"]),
        ("PORT 127,0,0,1,", ["200 PORT ok"]),
        (
            "RETR f",
            ["150 go", PortConnect(), DataSend(b"active"), DataClose(), "226 done"],
        ),
    ]
    with session(each_lib, script) as (ftp, _srv):
        ftp.set_pasv(False)
        chunks = []
        assert ftp.retrbinary("RETR f", chunks.append) == "226 done"
        assert b"".join(chunks) == b"active"


def test_epsv_transfer_on_ipv6(each_lib):
    script = [
        WELCOME,
        ("TYPE I", ["200 binary"]),
        ("EPSV", [Epsv()]),
        ("RETR f", ["150 go", Accept(), DataSend(b"v6"), DataClose(), "226 done"]),
    ]
    with session(each_lib, script, family=socket.AF_INET6) as (ftp, _srv):
        chunks = []
        ftp.retrbinary("RETR f", chunks.append)
        assert chunks == [b"v6"]
