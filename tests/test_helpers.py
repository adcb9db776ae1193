"""parse150/227/229/257, print_line and ftpcp: the module's results equal ftplib's."""

import ftplib

import pytest
from support import CONTENT, connect, file_sha256, sha256


def outcome(func, *args):
    """('ok', result) or ('raise', exception class name, args)."""
    try:
        return ("ok", func(*args))
    except Exception as e:  # noqa: BLE001 - the exception is the result here
        return ("raise", type(e).__name__, e.args)


CASES = {
    "parse150": [
        "150 Opening BINARY mode data connection for f (1234 bytes).",
        "150 File (12 BYTES)",
        "150 (12 bytes)",
        "150 Here it comes.",
        "150 x (abc bytes)",
        "125 Data connection open (12 bytes)",
        "226 done",
    ],
    "parse227": [
        "227 Entering Passive Mode (127,0,0,1,4,1).",
        "227 =127,0,0,1,200,10",
        "227 Entering Passive Mode (999,1,1,1,1,1)",
        "227 Entering Passive Mode (10,0,0,1,1000,1)",
        "227 no numbers",
        "227 (1,2,3,4,5)",
        "200 not 227 (127,0,0,1,4,1)",
    ],
    "parse257": [
        '257 "/a""b" created',
        '257 "/plain"',
        '257 "/unterminated',
        "257 no quotes",
        '257 ""',
        '257  "/two spaces"',
        '250 "/not 257"',
    ],
}
PARSE229 = [
    "229 Entering Extended Passive Mode (|||6446|)",
    "229 ok (!!!6446!)",
    "229 (|||abc|)",
    "229 (|||1|",
    "229 no parens",
    "229 (||1|2|)",
    "229 (|1|::1|6446|)",
    "200 (|||6446|)",
]


@pytest.mark.parametrize(
    "name, reply",
    [(name, reply) for name, replies in CASES.items() for reply in replies],
)
def test_parse_functions_match_ftplib(lib, name, reply):
    assert outcome(getattr(lib, name), reply) == outcome(getattr(ftplib, name), reply)


@pytest.mark.parametrize("reply", PARSE229)
def test_parse229_matches_ftplib(lib, reply):
    peer = ("::1", 21, 0, 0)
    assert outcome(lib.parse229, reply, peer) == outcome(ftplib.parse229, reply, peer)


def test_parse_errors_are_the_modules_classes(lib):
    with pytest.raises(lib.error_reply):
        lib.parse227("200 nope")
    with pytest.raises(lib.error_proto):
        lib.parse227("227 nope")
    with pytest.raises(lib.error_proto):
        lib.parse229("229 nope", ("::1", 21))


def test_print_line(lib, capsys):
    lib.print_line("a line")
    assert capsys.readouterr().out == "a line\n"


def test_ftpcp_copies_between_two_sessions(lib, ftpd, root):
    # Server-to-server copy: PASV on the source, PORT on the target.
    source = connect(lib, ftpd)
    target = connect(lib, ftpd)
    try:
        lib.ftpcp(source, "big.bin", target, "copy.bin")
        assert source.voidcmd("NOOP").startswith("200")
    finally:
        source.close()
        target.close()
    assert file_sha256(root / "copy.bin") == sha256(CONTENT["big.bin"])


def test_ftpcp_default_target_name(lib, ftpd, root):
    source = connect(lib, ftpd)
    target = connect(lib, ftpd)
    try:
        target.mkd("copies")
        target.cwd("copies")
        lib.ftpcp(source, "small.bin", target)
    finally:
        source.close()
        target.close()
    assert (root / "copies" / "small.bin").read_bytes() == CONTENT["small.bin"]
