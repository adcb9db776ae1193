"""What a timeout leaves behind, on the control and on the data connection.

Built from the dialogue a differential run found: ``sendcmd("NOOP")`` times
out, the server's late ``200 first`` arrives, and the next command must not
take it for its own reply. ftplib's socket file refuses every read after a
timeout (``OSError('cannot read from timed out object')``); rftplib does the
same. Each test runs on ftplib (showing the behaviour) and on rftplib
(holding it to it).
"""

import contextlib
import errno
import io
import re
import select
import socket
import ssl
import time

import pytest
import trustme
from faultserver import (
    IO_TIMEOUT,
    POLL,
    Accept,
    DataClose,
    DataSend,
    FaultServer,
    Sleep,
)
from test_faults import PASV, WELCOME, check_raises, session

SHORT = 0.25  # the client's timeout
LATE = 0.6  # how long the server waits before it answers: well past SHORT
REFUSED = "cannot read from timed out object"


def wait_readable(ftp):
    """Until the late reply sits in the control socket's receive buffer."""
    assert select.select([ftp.sock], [], [], 10)[0], "the late reply never came"


def wait_for(condition):
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, "condition never met"
        time.sleep(0.01)


def check_timeout(func, *args):
    """``func`` raises the running Python's socket timeout, 'timed out'."""
    with pytest.raises(socket.timeout) as excinfo:
        func(*args)
    assert excinfo.type is socket.timeout  # TimeoutError from 3.10
    assert str(excinfo.value) == "timed out"


def check_refused(each_lib, func, *args):
    e = check_raises(each_lib, "OSError", func, *args)
    assert e.args == (REFUSED,)
    assert e.errno is None


# -- the control connection ----------------------------------------------------


def test_late_reply_is_never_the_next_commands(each_lib):
    script = [
        WELCOME,
        ("NOOP", [Sleep(LATE), "200 first"]),
        ("NOOP", ["200 second"]),
        ("NOOP", ["200 third"]),
    ]
    with session(each_lib, script, timeout=SHORT) as (ftp, srv):
        check_timeout(ftp.sendcmd, "NOOP")
        wait_readable(ftp)
        # The command is still sent; its reply is never read.
        check_refused(each_lib, ftp.sendcmd, "NOOP")
        check_refused(each_lib, ftp.voidcmd, "NOOP")
        check_refused(each_lib, ftp.getline)
        wait_for(lambda: srv.commands == ["NOOP", "NOOP", "NOOP"])
        # The socket itself still reads: the late reply is there.
        assert ftp.sock.recv(100).startswith(b"200 first\r\n")


def test_part_of_a_line_received_before_the_timeout_is_lost(each_lib):
    script = [WELCOME, ("NOOP", [b"200 fi", Sleep(LATE), b"rst\r\n"])]
    with session(each_lib, script, timeout=SHORT) as (ftp, _srv):
        check_timeout(ftp.sendcmd, "NOOP")
        wait_readable(ftp)
        check_refused(each_lib, ftp.getline)
        # The file consumed "200 fi"; the socket holds only the rest.
        assert ftp.sock.recv(100) == b"rst\r\n"


def test_timeout_inside_a_multiline_reply(each_lib):
    script = [
        WELCOME,
        ("STAT", [b"211-status\r\n211-more\r\n", Sleep(LATE), b"211 end\r\n"]),
    ]
    with session(each_lib, script, timeout=SHORT) as (ftp, _srv):
        check_timeout(ftp.sendcmd, "STAT")
        wait_readable(ftp)
        check_refused(each_lib, ftp.getresp)


def test_timeout_of_the_greeting(each_lib):
    script = [(None, [Sleep(LATE), "220 late hello"])]
    with session(each_lib, script, connect=False, timeout=SHORT) as (ftp, srv):
        check_timeout(ftp.connect, srv.host, srv.port)
        wait_readable(ftp)
        check_refused(each_lib, ftp.getresp)


def test_final_transfer_reply_timeout_refuses_the_next_command(each_lib):
    script = [
        WELCOME,
        ("TYPE I", ["200 binary"]),
        PASV,
        ("RETR f", ["150 here", Accept(), DataSend(b"data"), DataClose()]),
        (None, [Sleep(LATE), "226 late"]),
        ("NOOP", ["200 noop"]),
    ]
    with session(each_lib, script, timeout=SHORT) as (ftp, _srv):
        chunks = []
        check_timeout(ftp.retrbinary, "RETR f", chunks.append)
        assert chunks == [b"data"]
        wait_readable(ftp)
        check_refused(each_lib, ftp.voidcmd, "NOOP")


def test_with_block_closes_after_a_control_timeout(each_lib):
    # quit() raises the OSError, which __exit__ swallows; then it closes.
    script = [WELCOME, ("NOOP", [Sleep(LATE), "200 first"]), ("QUIT", ["221 bye"])]
    with session(each_lib, script, timeout=SHORT) as (ftp, srv):
        with ftp:
            check_timeout(ftp.voidcmd, "NOOP")
            wait_readable(ftp)
        assert ftp.sock is None
        wait_for(lambda: srv.commands == ["NOOP", "QUIT"])


def test_a_new_connection_reads_again(each_lib):
    script = [WELCOME, ("NOOP", [Sleep(LATE), "200 first"])]
    with session(each_lib, script, timeout=SHORT) as (ftp, _srv):
        check_timeout(ftp.voidcmd, "NOOP")
    script = [WELCOME, ("NOOP", ["200 fresh"])]
    with session(each_lib, script, timeout=SHORT, connect=False) as (_, srv):
        # The same FTP object, connected anew: a new file, not timed out.
        ftp.connect(srv.host, srv.port)
        assert ftp.voidcmd("NOOP") == "200 fresh"
        ftp.close()


# -- data connections ------------------------------------------------------------
#
# A data-connection timeout leaves the control connection readable, in ftplib
# as in rftplib: the transfer's final reply, when it comes, is what the next
# command reads, and every later command reads its predecessor's reply.


def stalled(type_cmd, cmd, *data, final="226 late"):
    return [
        WELCOME,
        (type_cmd, ["200 type"]),
        PASV,
        (cmd, ["150 here", Accept(), *data, Sleep(LATE), DataClose(), final]),
        ("NOOP", ["200 noop 1"]),
        ("NOOP", ["200 noop 2"]),
    ]


def test_retrbinary_data_timeout(each_lib):
    script = stalled("TYPE I", "RETR f", DataSend(b"first"))
    with session(each_lib, script, timeout=SHORT) as (ftp, _srv):
        chunks = []
        check_timeout(ftp.retrbinary, "RETR f", chunks.append)
        assert chunks == [b"first"]
        wait_readable(ftp)
        assert ftp.sendcmd("NOOP") == "226 late"
        assert ftp.sendcmd("NOOP") == "200 noop 1"


def test_retrlines_data_timeout(each_lib):
    script = stalled("TYPE A", "RETR f", DataSend(b"one\r\ntw"))
    with session(each_lib, script, timeout=SHORT) as (ftp, _srv):
        lines = []
        check_timeout(ftp.retrlines, "RETR f", lines.append)
        assert lines == ["one"]
        wait_readable(ftp)
        assert ftp.sendcmd("NOOP") == "226 late"
        assert ftp.sendcmd("NOOP") == "200 noop 1"


def test_nlst_data_timeout(each_lib):
    script = stalled("TYPE A", "NLST", DataSend(b"a\r\nb"))
    with session(each_lib, script, timeout=SHORT) as (ftp, _srv):
        check_timeout(ftp.nlst)
        wait_readable(ftp)
        assert ftp.sendcmd("NOOP") == "226 late"
        assert ftp.sendcmd("NOOP") == "200 noop 1"


def test_mlsd_data_timeout(each_lib):
    script = stalled("TYPE A", "MLSD", DataSend(b"type=file; a\r\n"))
    with session(each_lib, script, timeout=SHORT) as (ftp, _srv):
        entries = ftp.mlsd()
        check_timeout(next, entries)
        with pytest.raises(StopIteration):
            next(entries)
        wait_readable(ftp)
        assert ftp.sendcmd("NOOP") == "226 late"
        assert ftp.sendcmd("NOOP") == "200 noop 1"


def test_storbinary_data_timeout(each_lib):
    # The server never reads: once the socket buffers are full, a send waits
    # until the timeout.
    script = stalled("TYPE I", "STOR f", final="426 late")
    body = io.BytesIO(bytes(64 << 20))
    with session(each_lib, script, timeout=SHORT) as (ftp, _srv):
        check_timeout(ftp.storbinary, "STOR f", body, 1 << 20)
        assert body.tell() < len(body.getvalue())
        wait_readable(ftp)
        e = check_raises(each_lib, "error_temp", ftp.sendcmd, "NOOP")
        assert str(e) == "426 late"
        assert ftp.sendcmd("NOOP") == "200 noop 1"


def test_active_mode_accept_timeout(each_lib):
    # The server answers PORT and 150 but never connects.
    script = [
        WELCOME,
        ("TYPE I", ["200 binary"]),
        ("PORT", ["200 port ok"]),
        ("RETR f", ["150 here", Sleep(LATE), "425 no connection"]),
        ("NOOP", ["200 noop 1"]),
    ]
    with session(each_lib, script, timeout=SHORT) as (ftp, _srv):
        ftp.set_pasv(False)
        check_timeout(ftp.retrbinary, "RETR f", print)
        wait_readable(ftp)
        e = check_raises(each_lib, "error_temp", ftp.sendcmd, "NOOP")
        assert str(e) == "425 no connection"


# -- over TLS ----------------------------------------------------------------------
#
# Python's ssl module words its timeouts differently from a plain socket's:
# "The read operation timed out", "The write operation timed out".


class StartTls:
    """Wrap the control connection in TLS (after the 234 reply to AUTH TLS)."""

    def __init__(self, context):
        self.context = context

    def run(self, srv):
        srv._conn.settimeout(IO_TIMEOUT)
        srv._conn = self.context.wrap_socket(srv._conn, server_side=True)
        srv._conn.settimeout(POLL)


class DataTls:
    """Wrap the data connection accepted last in TLS."""

    def __init__(self, context):
        self.context = context

    def run(self, srv):
        srv._data.settimeout(IO_TIMEOUT)
        srv._data = self.context.wrap_socket(srv._data, server_side=True)


@pytest.fixture(scope="module")
def contexts():
    """(server, client) SSL contexts with a certificate for 127.0.0.1."""
    ca = trustme.CA()
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(server)
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ca.configure_trust(client)
    return server, client


def tls_script(server_ctx, *steps):
    return [
        WELCOME,
        ("AUTH TLS", ["234 go ahead", StartTls(server_ctx)]),
        ("PBSZ 0", ["200 PBSZ=0"]),
        ("PROT P", ["200 private"]),
        *steps,
    ]


@contextlib.contextmanager
def tls_session(each_lib, contexts, *steps):
    server_ctx, client_ctx = contexts
    with FaultServer(tls_script(server_ctx, *steps)) as srv:
        ftps = each_lib.FTP_TLS(context=client_ctx, timeout=SHORT)
        try:
            ftps.connect(srv.host, srv.port)
            ftps.auth()
            ftps.prot_p()
            yield ftps, srv
        finally:
            ftps.close()


def check_tls_timeout(operation, func, *args):
    with pytest.raises(socket.timeout) as excinfo:
        func(*args)
    assert excinfo.type is socket.timeout
    assert str(excinfo.value) == f"The {operation} operation timed out"


def test_tls_control_timeout(each_lib, contexts):
    steps = [("NOOP", [Sleep(LATE), "200 first"]), ("NOOP", ["200 second"])]
    with tls_session(each_lib, contexts, *steps) as (ftps, _srv):
        check_tls_timeout("read", ftps.sendcmd, "NOOP")
        check_refused(each_lib, ftps.sendcmd, "NOOP")


def test_tls_retrbinary_data_timeout(each_lib, contexts):
    server_ctx = contexts[0]
    steps = stalled("TYPE I", "RETR f", DataTls(server_ctx), DataSend(b"first"))[1:]
    with tls_session(each_lib, contexts, *steps) as (ftps, _srv):
        chunks = []
        check_tls_timeout("read", ftps.retrbinary, "RETR f", chunks.append)
        assert chunks == [b"first"]
        wait_readable(ftps)
        assert ftps.sendcmd("NOOP") == "226 late"


def test_tls_retrlines_data_timeout(each_lib, contexts):
    server_ctx = contexts[0]
    steps = stalled("TYPE A", "RETR f", DataTls(server_ctx), DataSend(b"one\r\ntw"))[1:]
    with tls_session(each_lib, contexts, *steps) as (ftps, _srv):
        lines = []
        check_tls_timeout("read", ftps.retrlines, "RETR f", lines.append)
        assert lines == ["one"]
        wait_readable(ftps)
        assert ftps.sendcmd("NOOP") == "226 late"


def test_tls_storbinary_data_timeout(each_lib, contexts):
    server_ctx = contexts[0]
    steps = stalled("TYPE I", "STOR f", DataTls(server_ctx), final="426 late")[1:]
    body = io.BytesIO(bytes(64 << 20))
    with tls_session(each_lib, contexts, *steps) as (ftps, _srv):
        check_tls_timeout("write", ftps.storbinary, "STOR f", body, 1 << 20)
        wait_readable(ftps)
        e = check_raises(each_lib, "error_temp", ftps.sendcmd, "NOOP")
        assert str(e) == "426 late"


def test_tls_control_handshake_timeout(each_lib, contexts):
    # The server never answers the ClientHello. Python's message names a line
    # of its _ssl.c, different in each version.
    script = [WELCOME, ("AUTH TLS", ["234 go ahead", Sleep(LATE)])]
    with FaultServer(script) as srv:
        ftps = each_lib.FTP_TLS(context=contexts[1], timeout=SHORT)
        try:
            ftps.connect(srv.host, srv.port)
            with pytest.raises(socket.timeout) as excinfo:
                ftps.auth()
            assert excinfo.type is socket.timeout
            assert re.fullmatch(
                r"_ssl\.c:\d+: The handshake operation timed out", str(excinfo.value)
            )
            # The socket went to the failed TLS wrapper: nothing more is sent.
            e = check_raises(each_lib, "OSError", ftps.voidcmd, "NOOP")
            assert e.errno == errno.EBADF
        finally:
            ftps.close()


def test_tls_data_handshake_timeout(each_lib, contexts):
    steps = [
        ("TYPE I", ["200 binary"]),
        PASV,
        ("RETR f", ["150 here", Accept(), Sleep(LATE), DataClose(), "426 late"]),
        ("NOOP", ["200 noop 1"]),
    ]
    with tls_session(each_lib, contexts, *steps) as (ftps, _srv):
        with pytest.raises(socket.timeout) as excinfo:
            ftps.retrbinary("RETR f", print)
        assert re.fullmatch(
            r"_ssl\.c:\d+: The handshake operation timed out", str(excinfo.value)
        )
        wait_readable(ftps)
        e = check_raises(each_lib, "error_temp", ftps.sendcmd, "NOOP")
        assert str(e) == "426 late"
