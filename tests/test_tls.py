"""FTP_TLS against real servers on 127.0.0.1.

- pyftpdlib with explicit FTPS, TLS required on the control and data channels
  (certificate from the session's trustme CA);
- vsftpd, explicit with require_ssl_reuse=YES and =NO, implicit, and one that
  requires client certificates;
- a scripted FTPS control server (tls_support.ScriptedFtps) for what the real
  servers cannot show: the commands on the wire, and CCC.

Tests taking ``lib`` encode ftplib's behaviour (``--ftp-module=ftplib`` runs
them against the standard library); tests taking ``rlib`` cover what only
rftplib does (session reuse, implicit FTPS, client_certfile).
"""

import ftplib
import importlib
import io
import shutil
import ssl
import sys
import tempfile
import time
from pathlib import Path

import pytest
import trustme
from servers import PyftpdlibThreaded
from support import BIG_SIZE, CONTENT, NON_ASCII_NAME, TIMEOUT, TOP_LEVEL, sha256
from tls_support import (
    ClientCertVsftpd,
    ScriptedFtps,
    make_cert_files,
    temp_root,
)
from vsftpd import Vsftpd

LEGACY = sys.version_info < (3, 12)  # FTP_TLS still takes keyfile/certfile

# -- fixtures ------------------------------------------------------------------


@pytest.fixture(scope="session")
def rlib():
    """rftplib itself, for what ftplib cannot do."""
    return importlib.import_module("rftplib")


@pytest.fixture(scope="module")
def certs(tls_ca):
    """Certificate files from the session's CA, in a directory vsftpd can read."""
    directory = Path(tempfile.mkdtemp(prefix="rftplib-tls-certs-"))
    yield make_cert_files(tls_ca, directory)
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="module")
def other_ca():
    """A CA nobody's certificate comes from."""
    return trustme.CA()


def ca_context(ca):
    """A verifying client context (CERT_REQUIRED, check_hostname) trusting ``ca``."""
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    return ctx


@pytest.fixture(scope="module")
def _tftpd_server(certs, tmp_path_factory):
    idle = tmp_path_factory.mktemp("tftpd-idle")
    with PyftpdlibThreaded(
        idle,
        tls=True,
        certfile=certs.server,
        tls_control_required=True,
        tls_data_required=True,
    ) as srv:
        yield srv


@pytest.fixture
def tftpd(_tftpd_server, root):
    """pyftpdlib, explicit FTPS with TLS required on control and data, serving ``root``."""
    _tftpd_server.root = root
    yield _tftpd_server


@pytest.fixture(scope="module")
def _localhost_ftpd_server(certs, tmp_path_factory):
    idle = tmp_path_factory.mktemp("localhost-ftpd-idle")
    with PyftpdlibThreaded(idle, tls=True, certfile=certs.localhost_only) as srv:
        yield srv


@pytest.fixture
def localhost_ftpd(_localhost_ftpd_server, root):
    """pyftpdlib with explicit FTPS and a certificate for the name 'localhost' only."""
    _localhost_ftpd_server.root = root
    yield _localhost_ftpd_server


def populate(root):
    for name, data in CONTENT.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    (root / "sub" / "deeper").mkdir()


@pytest.fixture(scope="module")
def vroot():
    """One root for this module's vsftpd servers (uploads use names of their own)."""
    root, cleanup = temp_root(populate)
    yield root
    cleanup()


@pytest.fixture(scope="module")
def vsftpd_reuse(vroot):
    """vsftpd, explicit FTPS, require_ssl_reuse=YES: data connections must resume the session."""
    with Vsftpd(vroot, tls="explicit", require_ssl_reuse=True) as srv:
        yield srv


@pytest.fixture(scope="module")
def vsftpd_noreuse(vroot):
    """vsftpd, explicit FTPS, require_ssl_reuse=NO (stock ftplib works here)."""
    with Vsftpd(vroot, tls="explicit", require_ssl_reuse=False) as srv:
        yield srv


@pytest.fixture(scope="module")
def vsftpd_implicit(vroot):
    """vsftpd, implicit FTPS (TLS from the first byte), require_ssl_reuse=YES."""
    with Vsftpd(vroot, tls="implicit", require_ssl_reuse=True) as srv:
        yield srv


@pytest.fixture(scope="module")
def vsftpd_clientcert(vroot, certs):
    """vsftpd requiring a client certificate from the session's CA (and session reuse)."""
    with ClientCertVsftpd(vroot, ca_file=certs.ca, require_ssl_reuse=True) as srv:
        yield srv


@pytest.fixture
def scripted(certs):
    with ScriptedFtps(certs.server) as srv:
        yield srv


# -- helpers ---------------------------------------------------------------------


def open_tls(lib, srv, context=None, *, host=None, login=True, prot_p=True, **kwargs):
    """An FTP_TLS of ``lib`` connected to ``srv`` (logged in, PROT P by default)."""
    kwargs.setdefault("timeout", TIMEOUT)
    ftps = lib.FTP_TLS(context=context, **kwargs)
    try:
        ftps.connect(host or srv.host, srv.port)
        if login:
            ftps.login(srv.user, srv.password)
        if prot_p:
            ftps.prot_p()
    except BaseException:
        ftps.close()
        raise
    return ftps


def retr(ftps, name, **kwargs):
    chunks = []
    resp = ftps.retrbinary(f"RETR {name}", chunks.append, **kwargs)
    return resp, b"".join(chunks)


def read_all(conn):
    chunks = []
    while chunk := conn.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


# -- pyftpdlib, TLS required on control and data: the FTP_TLS surface ------------


def test_server_refuses_a_cleartext_login(lib, tftpd):
    # Shows the server really requires TLS on the control connection.
    ftp = lib.FTP(timeout=TIMEOUT)
    try:
        ftp.connect(tftpd.host, tftpd.port)
        with pytest.raises(
            lib.error_perm, match="^550 SSL/TLS required on the control"
        ):
            ftp.login(tftpd.user, tftpd.password)
    finally:
        ftp.close()


def test_login_secures_the_control_connection_first(lib, tftpd):
    ftps = lib.FTP_TLS(timeout=TIMEOUT)
    try:
        assert ftps.connect(tftpd.host, tftpd.port) == "220 pyftpdlib ready."
        assert not isinstance(ftps.sock, ssl.SSLSocket)
        assert ftps.login(tftpd.user, tftpd.password) == "230 Login successful."
        assert isinstance(ftps.sock, ssl.SSLSocket)
        assert ftps.voidcmd("NOOP").startswith("200")
    finally:
        ftps.close()


def test_login_secure_false_sends_no_auth(lib, tftpd):
    ftps = lib.FTP_TLS(timeout=TIMEOUT)
    try:
        ftps.connect(tftpd.host, tftpd.port)
        with pytest.raises(
            lib.error_perm, match="^550 SSL/TLS required on the control"
        ):
            ftps.login(tftpd.user, tftpd.password, secure=False)
        assert not isinstance(ftps.sock, ssl.SSLSocket)
    finally:
        ftps.close()


def test_auth_returns_the_reply_and_refuses_a_second_time(lib, tftpd):
    ftps = lib.FTP_TLS(timeout=TIMEOUT)
    try:
        ftps.connect(tftpd.host, tftpd.port)
        assert ftps.auth() == "234 AUTH TLS successful."
        with pytest.raises(ValueError, match="^Already using TLS$"):
            ftps.auth()
        # login() sees TLS is on and sends no second AUTH.
        assert ftps.login(tftpd.user, tftpd.password) == "230 Login successful."
    finally:
        ftps.close()


def test_control_socket_reports_its_tls_session(lib, tftpd, tls_ca):
    ctx = ca_context(tls_ca)
    with open_tls(lib, tftpd, ctx, prot_p=False) as ftps:
        assert isinstance(ftps.sock, ssl.SSLSocket)
        assert ftps.context is ctx
        assert ftps.sock.context is ctx
        assert ftps.sock.version() == "TLSv1.3"
        name, protocol, bits = ftps.sock.cipher()
        assert isinstance(name, str) and name.startswith("TLS_")
        assert protocol == "TLSv1.3"
        assert isinstance(bits, int) and bits >= 128


def test_fileno_names_the_connection_after_tls_starts(lib, tftpd, tls_ca):
    # Starting TLS may move the connection to another descriptor; fileno()
    # must name the live one, as an SSLSocket's does.
    import os
    import socket

    with open_tls(lib, tftpd, ca_context(tls_ca)) as ftps:
        for sock in (ftps.sock, ftps.transfercmd("LIST")):
            with socket.socket(fileno=os.dup(sock.fileno())) as view:
                assert view.getpeername() == sock.getpeername()
                assert view.getsockname() == sock.getsockname()
            if sock is not ftps.sock:
                while sock.recv(8192):
                    pass
                sock.close()
                assert ftps.voidresp().startswith("226")


def test_data_channel_refused_without_prot_p(lib, tftpd):
    with open_tls(lib, tftpd, prot_p=False) as ftps:
        with pytest.raises(lib.error_perm, match="^550 SSL/TLS required on the data"):
            retr(ftps, "small.bin")
        assert ftps.voidcmd("NOOP").startswith("200")


def test_prot_p_returns_the_prot_reply(lib, tftpd):
    with open_tls(lib, tftpd, prot_p=False) as ftps:
        assert ftps.prot_p() == "200 Protection set to Private"
        assert retr(ftps, "small.bin")[1] == CONTENT["small.bin"]


def test_prot_c_makes_data_connections_cleartext_again(lib, tftpd):
    with open_tls(lib, tftpd) as ftps:
        assert ftps.prot_c() == "200 Protection set to Clear"
        # This server requires TLS on data, so a cleartext one is refused.
        with pytest.raises(lib.error_perm, match="^550 SSL/TLS required on the data"):
            ftps.nlst()
        ftps.prot_p()
        assert sorted(ftps.nlst()) == TOP_LEVEL


def test_prot_c_data_connection_is_plain(lib, ftpd_tls):
    # ftpd_tls (conftest) offers TLS without requiring it on data.
    with open_tls(lib, ftpd_tls) as ftps:
        ftps.prot_c()
        ftps.voidcmd("TYPE I")
        with ftps.transfercmd("RETR medium.bin") as conn:
            assert not isinstance(conn, ssl.SSLSocket)
            data = read_all(conn)
        assert ftps.voidresp() == "226 Transfer complete."
        assert sha256(data) == sha256(CONTENT["medium.bin"])


def test_retrbinary(lib, tftpd):
    with open_tls(lib, tftpd) as ftps:
        resp, data = retr(ftps, "big.bin")
        assert resp == "226 Transfer complete."
        assert len(data) == BIG_SIZE
        assert sha256(data) == sha256(CONTENT["big.bin"])


def test_retrbinary_with_rest(lib, tftpd):
    with open_tls(lib, tftpd) as ftps:
        resp, data = retr(ftps, "medium.bin", rest=12345)
        assert resp == "226 Transfer complete."
        assert sha256(data) == sha256(CONTENT["medium.bin"][12345:])


def test_retrbinary_non_ascii_name(lib, tftpd):
    with open_tls(lib, tftpd) as ftps:
        assert sha256(retr(ftps, NON_ASCII_NAME)[1]) == sha256(CONTENT[NON_ASCII_NAME])


def test_retrlines(lib, tftpd):
    with open_tls(lib, tftpd) as ftps:
        lines = []
        assert ftps.retrlines("RETR text.txt", lines.append) == "226 Transfer complete."
        assert lines == ["first line", "second line", "third line"]


def test_storbinary(lib, tftpd, root):
    payload = CONTENT["big.bin"][::-1]
    with open_tls(lib, tftpd) as ftps:
        resp = ftps.storbinary("STOR up.bin", io.BytesIO(payload))
        assert resp == "226 Transfer complete."
    assert sha256((root / "up.bin").read_bytes()) == sha256(payload)


def test_storbinary_with_rest_appends_at_the_offset(lib, tftpd, root):
    payload = CONTENT["medium.bin"]
    with open_tls(lib, tftpd) as ftps:
        ftps.storbinary("STOR part.bin", io.BytesIO(payload[:1000]))
        ftps.storbinary("STOR part.bin", io.BytesIO(payload[1000:]), rest=1000)
    assert sha256((root / "part.bin").read_bytes()) == sha256(payload)


def test_storlines(lib, tftpd, root):
    seen = []
    with open_tls(lib, tftpd) as ftps:
        resp = ftps.storlines(
            "STOR lines.txt", io.BytesIO(b"alpha\nbeta\r\ngamma"), callback=seen.append
        )
        assert resp == "226 Transfer complete."
        got = []
        ftps.retrlines("RETR lines.txt", got.append)
    assert seen == [b"alpha\r\n", b"beta\r\n", b"gamma\r\n"]
    assert got == ["alpha", "beta", "gamma"]
    # pyftpdlib stores TYPE A uploads with the local line ending.
    assert (root / "lines.txt").read_bytes() == b"alpha\nbeta\ngamma\n"


def test_nlst(lib, tftpd):
    with open_tls(lib, tftpd) as ftps:
        assert sorted(ftps.nlst()) == TOP_LEVEL


def test_dir(lib, tftpd):
    with open_tls(lib, tftpd) as ftps:
        lines = []
        ftps.dir(lines.append)
    assert sorted(line.split(None, 8)[-1] for line in lines) == TOP_LEVEL
    big = next(line for line in lines if line.endswith(" big.bin"))
    assert big.split()[4] == str(BIG_SIZE)


def test_mlsd(lib, tftpd):
    with open_tls(lib, tftpd) as ftps:
        entries = dict(ftps.mlsd(facts=["type", "size"]))
    assert sorted(entries) == TOP_LEVEL
    assert entries["big.bin"]["size"] == str(BIG_SIZE)
    assert entries["sub"]["type"] == "dir"


def test_active_mode_retrbinary_and_storbinary(lib, tftpd, root):
    with open_tls(lib, tftpd) as ftps:
        ftps.set_pasv(False)
        resp, data = retr(ftps, "medium.bin")
        assert resp == "226 Transfer complete."
        assert sha256(data) == sha256(CONTENT["medium.bin"])
        assert (
            ftps.storbinary("STOR active.bin", io.BytesIO(data))
            == "226 Transfer complete."
        )
        assert sorted(ftps.nlst()) == sorted(TOP_LEVEL + ["active.bin"])
    assert sha256((root / "active.bin").read_bytes()) == sha256(CONTENT["medium.bin"])


def test_transfercmd_returns_a_tls_data_socket(lib, tftpd, tls_ca):
    ctx = ca_context(tls_ca)
    with open_tls(lib, tftpd, ctx) as ftps:
        ftps.voidcmd("TYPE I")
        conn = ftps.transfercmd("RETR medium.bin")
        try:
            assert isinstance(conn, ssl.SSLSocket)
            assert conn.context is ctx
            assert conn.version() == ftps.sock.version() == "TLSv1.3"
            assert conn.cipher()[1] == "TLSv1.3"
            data = read_all(conn)
            conn.unwrap()
        finally:
            conn.close()
        assert ftps.voidresp() == "226 Transfer complete."
    assert sha256(data) == sha256(CONTENT["medium.bin"])


def test_transfercmd_data_socket_sendall_and_with(lib, tftpd, root):
    payload = CONTENT["medium.bin"][::-1]
    with open_tls(lib, tftpd) as ftps:
        ftps.voidcmd("TYPE I")
        with ftps.transfercmd("STOR sent.bin") as conn:
            conn.sendall(payload[:100_000])
            conn.sendall(memoryview(payload)[100_000:])
            conn.unwrap()
        assert ftps.voidresp() == "226 Transfer complete."
    assert sha256((root / "sent.bin").read_bytes()) == sha256(payload)


def test_transfercmd_data_socket_makefile(lib, tftpd):
    with open_tls(lib, tftpd) as ftps:
        ftps.voidcmd("TYPE I")
        with ftps.transfercmd("RETR big.bin") as conn, conn.makefile("rb") as fp:
            data = fp.read()
        assert ftps.voidresp() == "226 Transfer complete."
    assert sha256(data) == sha256(CONTENT["big.bin"])


def test_abort_during_a_tls_transfer(lib, tftpd, root):
    # Large enough that the server is still sending when ABOR arrives. ABOR
    # goes inside TLS without MSG_OOB: an urgent byte would corrupt a record.
    (root / "huge.bin").write_bytes(bytes(24 * 1024 * 1024))
    with open_tls(lib, tftpd) as ftps:
        ftps.voidcmd("TYPE I")
        conn = ftps.transfercmd("RETR huge.bin")
        try:
            assert len(conn.recv(1000)) > 0
            assert ftps.abort() == "426 Transfer aborted via ABOR."
        finally:
            conn.close()
        assert ftps.getresp() == "226 ABOR command successful."
        assert ftps.voidcmd("NOOP").startswith("200")
        assert retr(ftps, "small.bin")[1] == CONTENT["small.bin"]


def test_several_transfers_on_one_session(lib, tftpd, root):
    with open_tls(lib, tftpd) as ftps:
        for i in range(5):
            assert retr(ftps, "small.bin")[1] == CONTENT["small.bin"]
            ftps.storbinary(f"STOR round{i}.bin", io.BytesIO(CONTENT["sub/inner.bin"]))
            assert f"round{i}.bin" in ftps.nlst()
    for i in range(5):
        assert (root / f"round{i}.bin").read_bytes() == CONTENT["sub/inner.bin"]


def test_quit_over_tls(lib, tftpd):
    ftps = open_tls(lib, tftpd)
    try:
        assert ftps.quit() == "221 Goodbye."
        assert ftps.sock is None
    finally:
        ftps.close()


# -- the SSLContext is honoured ---------------------------------------------------


def test_default_context_does_not_verify(lib):
    ftps = lib.FTP_TLS()
    try:
        assert isinstance(ftps.context, ssl.SSLContext)
        assert ftps.context.verify_mode == ssl.CERT_NONE
        assert ftps.context.check_hostname is False
        assert ftps.context.protocol == ssl.PROTOCOL_TLS_CLIENT
    finally:
        ftps.close()


def test_default_context_accepts_a_self_signed_certificate(lib, vsftpd_noreuse):
    # vsftpd's certificate is self-signed; nobody trusts it.
    with open_tls(lib, vsftpd_noreuse) as ftps:
        assert ftps.sock.version() == "TLSv1.3"
        assert sha256(retr(ftps, "medium.bin")[1]) == sha256(CONTENT["medium.bin"])


def test_trusted_ca_verifies_the_server(lib, tftpd, tls_ca):
    ctx = ca_context(tls_ca)
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    with open_tls(lib, tftpd, ctx) as ftps:  # the certificate names 127.0.0.1
        assert sorted(ftps.nlst()) == TOP_LEVEL


def test_untrusted_ca_raises_certificate_verification_error(lib, tftpd, other_ca):
    ftps = lib.FTP_TLS(context=ca_context(other_ca), timeout=TIMEOUT)
    try:
        ftps.connect(tftpd.host, tftpd.port)
        with pytest.raises(ssl.SSLCertVerificationError) as excinfo:
            ftps.login(tftpd.user, tftpd.password)
    finally:
        ftps.close()
    assert isinstance(excinfo.value, ssl.SSLError)
    assert isinstance(excinfo.value, lib.all_errors)
    assert excinfo.value.verify_code == 20  # unable to get local issuer certificate
    assert "CERTIFICATE_VERIFY_FAILED" in str(excinfo.value)


def test_untrusted_ca_error_is_caught_by_all_errors(lib, tftpd, other_ca):
    ftps = lib.FTP_TLS(context=ca_context(other_ca), timeout=TIMEOUT)
    caught = None
    try:
        ftps.connect(tftpd.host, tftpd.port)
        try:
            ftps.auth()
        except lib.all_errors as e:
            caught = e
    finally:
        ftps.close()
    assert type(caught) is ssl.SSLCertVerificationError


def test_check_hostname_rejects_an_address_the_certificate_does_not_name(
    lib, localhost_ftpd, tls_ca
):
    ftps = lib.FTP_TLS(context=ca_context(tls_ca), timeout=TIMEOUT)
    try:
        ftps.connect("127.0.0.1", localhost_ftpd.port)
        with pytest.raises(ssl.SSLCertVerificationError) as excinfo:
            ftps.auth()
    finally:
        ftps.close()
    assert excinfo.value.verify_code == 64  # X509_V_ERR_IP_ADDRESS_MISMATCH
    assert "IP address mismatch" in excinfo.value.verify_message


def test_check_hostname_accepts_the_name_the_certificate_gives(
    lib, localhost_ftpd, tls_ca
):
    # Checked against the host given to connect(), on the data connection too.
    with open_tls(lib, localhost_ftpd, ca_context(tls_ca), host="localhost") as ftps:
        assert ftps.host == "localhost"
        assert sorted(ftps.nlst()) == TOP_LEVEL


def test_check_hostname_off_accepts_a_name_mismatch(lib, localhost_ftpd, tls_ca):
    ctx = ca_context(tls_ca)
    ctx.check_hostname = False  # verify_mode stays CERT_REQUIRED
    with open_tls(lib, localhost_ftpd, ctx, host="127.0.0.1") as ftps:
        assert sorted(ftps.nlst()) == TOP_LEVEL


def test_check_hostname_off_still_verifies_the_chain(lib, localhost_ftpd, other_ca):
    ctx = ca_context(other_ca)
    ctx.check_hostname = False
    ftps = lib.FTP_TLS(context=ctx, timeout=TIMEOUT)
    try:
        ftps.connect("localhost", localhost_ftpd.port)
        with pytest.raises(ssl.SSLCertVerificationError):
            ftps.auth()
    finally:
        ftps.close()


def test_maximum_version_tls12(lib, tftpd, tls_ca):
    ctx = ca_context(tls_ca)
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    with open_tls(lib, tftpd, ctx) as ftps:
        assert ftps.sock.version() == "TLSv1.2"
        ftps.voidcmd("TYPE I")
        with ftps.transfercmd("RETR small.bin") as conn:
            assert conn.version() == "TLSv1.2"
            data = read_all(conn)
        ftps.voidresp()
    assert data == CONTENT["small.bin"]


def test_server_capped_at_tls12_gives_tls12(lib, certs):
    with (
        ScriptedFtps(certs.server, max_version=ssl.TLSVersion.TLSv1_2) as srv,
        open_tls(lib, srv, prot_p=False) as ftps,
    ):
        assert ftps.sock.version() == "TLSv1.2"


def test_minimum_version_tls13_refuses_a_tls12_server(lib, certs):
    ctx = ssl._create_stdlib_context()
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    with ScriptedFtps(certs.server, max_version=ssl.TLSVersion.TLSv1_2) as srv:
        ftps = lib.FTP_TLS(context=ctx, timeout=TIMEOUT)
        try:
            ftps.connect(srv.host, srv.port)
            with pytest.raises(ssl.SSLError, match="PROTOCOL_VERSION"):
                ftps.auth()
        finally:
            ftps.close()


@pytest.mark.parametrize(
    "cipher", ["ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305"]
)
def test_set_ciphers_chooses_the_cipher(lib, tftpd, tls_ca, cipher):
    ctx = ca_context(tls_ca)
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers(cipher)
    with open_tls(lib, tftpd, ctx) as ftps:
        assert ftps.sock.cipher()[:2] == (cipher, "TLSv1.2")
        ftps.voidcmd("TYPE I")
        with ftps.transfercmd("RETR small.bin") as conn:
            assert conn.cipher()[0] == cipher
            read_all(conn)
        ftps.voidresp()


def test_set_ciphers_without_a_usable_cipher_fails(lib, tftpd, tls_ca):
    ctx = ca_context(tls_ca)
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers("AES128-SHA")  # RSA key exchange; the server's key is ECDSA
    ftps = lib.FTP_TLS(context=ctx, timeout=TIMEOUT)
    try:
        ftps.connect(tftpd.host, tftpd.port)
        with pytest.raises(ssl.SSLError, match="HANDSHAKE_FAILURE"):
            ftps.auth()
    finally:
        ftps.close()


# -- the commands on the wire, and CCC (scripted server) ---------------------------


def test_login_sends_auth_tls_before_user(lib, scripted):
    with open_tls(lib, scripted, prot_p=False):
        pass
    assert scripted.commands[:3] == [
        ("AUTH TLS", None),
        ("USER scripted", "TLSv1.3"),
        ("PASS secret", "TLSv1.3"),
    ]


def test_prot_p_sends_pbsz_0_then_prot_p(lib, scripted):
    with open_tls(lib, scripted, prot_p=False) as ftps:
        assert ftps.prot_p() == "200 Protection level set to P."
    assert scripted.sent()[3:5] == ["PBSZ 0", "PROT P"]


def test_prot_c_sends_prot_c(lib, scripted):
    with open_tls(lib, scripted) as ftps:
        assert ftps.prot_c() == "200 Protection level set to C."
    assert scripted.sent()[3:6] == ["PBSZ 0", "PROT P", "PROT C"]


def test_abort_sends_abor_inside_tls(lib, scripted):
    with open_tls(lib, scripted, prot_p=False) as ftps:
        assert ftps.abort() == "225 No transfer to abort."
        assert ftps.voidcmd("NOOP") == "200 NOOP over TLSv1.3"
    assert ("ABOR", "TLSv1.3") in scripted.commands


def test_ccc_returns_the_control_connection_to_cleartext(lib, scripted):
    with open_tls(lib, scripted, prot_p=False) as ftps:
        assert ftps.voidcmd("NOOP") == "200 NOOP over TLSv1.3"
        assert ftps.ccc() == "200 Control channel now in cleartext."
        assert ftps.voidcmd("NOOP") == "200 NOOP in cleartext"
        assert ftps.sock.version() is None
    assert scripted.commands[-3:] == [
        ("CCC", "TLSv1.3"),
        ("NOOP", None),
        ("QUIT", None),
    ]


def test_after_ccc_the_socket_still_counts_as_tls(lib, scripted):
    with open_tls(lib, scripted, prot_p=False) as ftps:
        ftps.ccc()
        assert isinstance(ftps.sock, ssl.SSLSocket)
        with pytest.raises(ValueError, match="^Already using TLS$"):
            ftps.auth()
        with pytest.raises(ValueError):
            ftps.sock.unwrap()
        assert ftps.voidcmd("NOOP") == "200 NOOP in cleartext"


def test_ccc_without_tls_raises(lib, scripted):
    ftps = lib.FTP_TLS(timeout=TIMEOUT)
    try:
        ftps.connect(scripted.host, scripted.port)
        with pytest.raises(ValueError, match="^not using TLS$"):
            ftps.ccc()
    finally:
        ftps.close()
    assert "CCC" not in scripted.sent()


# -- errors: a server that is not speaking TLS ----------------------------------


def test_auth_answered_in_cleartext_raises_ssl_error(lib, certs):
    with ScriptedFtps(certs.server, plaintext_after_auth=True) as srv:
        ftps = lib.FTP_TLS(timeout=5)
        try:
            ftps.connect(srv.host, srv.port)
            started = time.monotonic()
            with pytest.raises(ssl.SSLError, match="WRONG_VERSION_NUMBER") as excinfo:
                ftps.auth()
            assert time.monotonic() - started < 4  # an error, not a timeout
            assert isinstance(excinfo.value, lib.all_errors)
        finally:
            ftps.close()
        ftps.close()  # twice is fine


def test_ssl_error_carries_reason_and_library(lib, certs):
    # ssl.SSLError raised by the ssl module always has .reason and .library.
    with ScriptedFtps(certs.server, plaintext_after_auth=True) as srv:
        ftps = lib.FTP_TLS(timeout=5)
        try:
            ftps.connect(srv.host, srv.port)
            with pytest.raises(ssl.SSLError) as excinfo:
                ftps.auth()
        finally:
            ftps.close()
    assert excinfo.value.library == "SSL"
    assert excinfo.value.reason == "WRONG_VERSION_NUMBER"
    assert excinfo.value.errno == 1


def test_implicit_against_a_cleartext_server_raises_ssl_error(rlib, ftpd):
    ftps = rlib.FTP_TLS(implicit=True, timeout=5)
    started = time.monotonic()
    try:
        with pytest.raises(ssl.SSLError) as excinfo:
            ftps.connect(ftpd.host, ftpd.port)
        assert time.monotonic() - started < 4  # an error, not a timeout
        assert isinstance(excinfo.value, rlib.all_errors)
    finally:
        ftps.close()
    ftps.close()
    assert ftps.sock is None


# -- vsftpd, require_ssl_reuse=YES: every data connection resumes the session --------


@pytest.mark.parametrize(
    "transfer",
    [
        lambda ftps: ftps.nlst(),
        lambda ftps: ftps.dir(lambda line: None),
        lambda ftps: retr(ftps, "small.bin"),
        lambda ftps: ftps.storbinary("STOR ftplib-refused.bin", io.BytesIO(b"x")),
    ],
    ids=["NLST", "LIST", "RETR", "STOR"],
)
def test_stock_ftplib_fails_where_session_reuse_is_required(vsftpd_reuse, transfer):
    # Why rftplib resumes sessions: ftplib.FTP_TLS cannot transfer here
    # (vsftpd then ends the session, so one transfer per connection).
    refused = "^522 SSL connection failed: session reuse required$"
    with (
        open_tls(ftplib, vsftpd_reuse, vsftpd_reuse.client_context()) as ftps,
        pytest.raises(ftplib.error_perm, match=refused),
    ):
        transfer(ftps)


def test_reuse_required_nlst(rlib, vsftpd_reuse):
    with open_tls(rlib, vsftpd_reuse, vsftpd_reuse.client_context()) as ftps:
        assert set(TOP_LEVEL) <= set(ftps.nlst())


def test_reuse_required_dir(rlib, vsftpd_reuse):
    with open_tls(rlib, vsftpd_reuse, vsftpd_reuse.client_context()) as ftps:
        lines = []
        assert ftps.dir(lines.append) is None
    big = next(line for line in lines if line.endswith(" big.bin"))
    assert big.split()[4] == str(BIG_SIZE)


def test_reuse_required_retrbinary(rlib, vsftpd_reuse):
    with open_tls(rlib, vsftpd_reuse, vsftpd_reuse.client_context()) as ftps:
        resp, data = retr(ftps, "big.bin")
    assert resp == "226 Transfer complete."
    assert sha256(data) == sha256(CONTENT["big.bin"])


def test_reuse_required_retrbinary_with_rest(rlib, vsftpd_reuse):
    with open_tls(rlib, vsftpd_reuse, vsftpd_reuse.client_context()) as ftps:
        resp, data = retr(ftps, "medium.bin", rest=777)
    assert resp == "226 Transfer complete."
    assert sha256(data) == sha256(CONTENT["medium.bin"][777:])


def test_reuse_required_retrlines(rlib, vsftpd_reuse):
    with open_tls(rlib, vsftpd_reuse, vsftpd_reuse.client_context()) as ftps:
        lines = []
        assert ftps.retrlines("RETR text.txt", lines.append) == "226 Transfer complete."
    assert lines == ["first line", "second line", "third line"]


def test_reuse_required_storbinary(rlib, vsftpd_reuse, vroot):
    payload = CONTENT["big.bin"][::-1]
    with open_tls(rlib, vsftpd_reuse, vsftpd_reuse.client_context()) as ftps:
        assert (
            ftps.storbinary("STOR reuse-up.bin", io.BytesIO(payload))
            == "226 Transfer complete."
        )
    assert sha256((vroot / "reuse-up.bin").read_bytes()) == sha256(payload)


def test_reuse_required_storlines(rlib, vsftpd_reuse, vroot):
    with open_tls(rlib, vsftpd_reuse, vsftpd_reuse.client_context()) as ftps:
        resp = ftps.storlines("STOR reuse-lines.txt", io.BytesIO(b"one\ntwo\r\nthree"))
        assert resp == "226 Transfer complete."
    # vsftpd stores TYPE A uploads unchanged (ascii_upload_enable=NO).
    assert (vroot / "reuse-lines.txt").read_bytes() == b"one\r\ntwo\r\nthree\r\n"


def test_reuse_required_active_mode(rlib, vsftpd_reuse, vroot):
    with open_tls(rlib, vsftpd_reuse, vsftpd_reuse.client_context()) as ftps:
        ftps.set_pasv(False)
        assert sha256(retr(ftps, "medium.bin")[1]) == sha256(CONTENT["medium.bin"])
        ftps.storbinary("STOR reuse-active.bin", io.BytesIO(CONTENT["small.bin"]))
        assert "reuse-active.bin" in ftps.nlst()
    assert (vroot / "reuse-active.bin").read_bytes() == CONTENT["small.bin"]


def test_reuse_required_data_socket_resumed_the_session(rlib, vsftpd_reuse):
    ctx = vsftpd_reuse.client_context()
    with open_tls(rlib, vsftpd_reuse, ctx) as ftps:
        ftps.voidcmd("TYPE I")
        with ftps.transfercmd("RETR medium.bin") as conn:
            assert conn.session_reused is True
            assert isinstance(conn, ssl.SSLSocket)
            assert conn.context is ctx
            assert conn.version() == "TLSv1.3"
            assert conn.cipher() == ftps.sock.cipher()
            data = read_all(conn)
            conn.unwrap()
        assert ftps.voidresp() == "226 Transfer complete."
    assert sha256(data) == sha256(CONTENT["medium.bin"])


def test_reuse_required_many_transfers_in_a_row(rlib, vsftpd_reuse, vroot):
    # TLS 1.3 tickets are single-use: each data connection must use the newest.
    with open_tls(rlib, vsftpd_reuse, vsftpd_reuse.client_context()) as ftps:
        for i in range(6):
            ftps.voidcmd("TYPE I")
            with ftps.transfercmd("RETR small.bin") as conn:
                assert conn.session_reused is True, f"round {i}"
                data = read_all(conn)
                conn.unwrap()
            ftps.voidresp()
            assert data == CONTENT["small.bin"]
            assert sha256(retr(ftps, "sub/inner.bin")[1]) == sha256(
                CONTENT["sub/inner.bin"]
            )
            ftps.storbinary(f"STOR row{i}.bin", io.BytesIO(data))
            assert f"row{i}.bin" in ftps.nlst()
    for i in range(6):
        assert (vroot / f"row{i}.bin").read_bytes() == CONTENT["small.bin"]


def test_reuse_required_many_transfers_over_tls12(rlib, vsftpd_reuse):
    ctx = vsftpd_reuse.client_context()
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    with open_tls(rlib, vsftpd_reuse, ctx) as ftps:
        assert ftps.sock.version() == "TLSv1.2"
        for i in range(4):
            ftps.voidcmd("TYPE I")
            with ftps.transfercmd("RETR medium.bin") as conn:
                assert conn.session_reused is True, f"round {i}"
                assert conn.version() == "TLSv1.2"
                data = read_all(conn)
                conn.unwrap()
            assert ftps.voidresp() == "226 Transfer complete."
            assert sha256(data) == sha256(CONTENT["medium.bin"])


def test_data_connections_resume_the_session_on_pyftpdlib(rlib, tftpd):
    with open_tls(rlib, tftpd) as ftps:
        for _ in range(3):
            ftps.voidcmd("TYPE I")
            with ftps.transfercmd("RETR small.bin") as conn:
                assert conn.session_reused is True
                assert read_all(conn) == CONTENT["small.bin"]
                conn.unwrap()
            ftps.voidresp()


def test_reuse_survives_a_data_socket_closed_without_unwrap(rlib, vsftpd_reuse):
    # ftplib's raw transfercmd users just close the data socket (no close_notify);
    # the session must stay resumable for the next data connection.
    with open_tls(rlib, vsftpd_reuse, vsftpd_reuse.client_context()) as ftps:
        for i in range(3):
            ftps.voidcmd("TYPE I")
            with ftps.transfercmd("RETR small.bin") as conn:
                assert conn.session_reused is True, f"round {i}"
                data = read_all(conn)
            assert ftps.voidresp() == "226 Transfer complete."
            assert data == CONTENT["small.bin"]
        assert sha256(retr(ftps, "medium.bin")[1]) == sha256(CONTENT["medium.bin"])


# -- vsftpd, require_ssl_reuse=NO: ftplib's behaviour --------------------------------


def test_no_reuse_required_transfers(lib, vsftpd_noreuse, vroot):
    payload = CONTENT["medium.bin"][::-1]
    with open_tls(lib, vsftpd_noreuse, vsftpd_noreuse.client_context()) as ftps:
        assert ftps.getwelcome() == "220 (vsFTPd 3.0.3)"
        assert set(TOP_LEVEL) <= set(ftps.nlst())
        resp, data = retr(ftps, "big.bin")
        assert resp == "226 Transfer complete."
        assert sha256(data) == sha256(CONTENT["big.bin"])
        assert (
            ftps.storbinary("STOR noreuse.bin", io.BytesIO(payload))
            == "226 Transfer complete."
        )
        lines = []
        ftps.dir(lines.append)
        assert any(line.endswith(" noreuse.bin") for line in lines)
    assert sha256((vroot / "noreuse.bin").read_bytes()) == sha256(payload)


def test_vsftpd_prot_p_reply(lib, vsftpd_noreuse):
    with open_tls(lib, vsftpd_noreuse, prot_p=False) as ftps:
        assert ftps.prot_p() == "200 PROT now Private."
        assert ftps.prot_c() == "200 PROT now Clear."


def test_vsftpd_refuses_cleartext_data(lib, vsftpd_noreuse):
    with (
        open_tls(lib, vsftpd_noreuse, prot_p=False) as ftps,
        pytest.raises(lib.error_perm, match="^522 Data connections must be encrypted"),
    ):
        ftps.nlst()


# -- implicit FTPS (vsftpd implicit_ssl=YES) ------------------------------------------


def test_implicit_default_port_is_990(rlib):
    ftps = rlib.FTP_TLS(implicit=True)
    try:
        assert ftps.port == 990
    finally:
        ftps.close()
    explicit = rlib.FTP_TLS()
    try:
        assert explicit.port == 21
    finally:
        explicit.close()


def test_implicit_tls_starts_before_the_greeting(rlib, vsftpd_implicit):
    ctx = vsftpd_implicit.client_context()
    ftps = rlib.FTP_TLS(context=ctx, implicit=True, timeout=TIMEOUT)
    try:
        assert (
            ftps.connect(vsftpd_implicit.host, vsftpd_implicit.port)
            == "220 (vsFTPd 3.0.3)"
        )
        assert ftps.port == vsftpd_implicit.port
        assert isinstance(ftps.sock, ssl.SSLSocket)
        assert ftps.sock.version() == "TLSv1.3"
        assert ftps.sock.context is ctx
        assert (
            ftps.login(vsftpd_implicit.user, vsftpd_implicit.password)
            == "230 Login successful."
        )
    finally:
        ftps.close()


def test_implicit_auth_raises_already_using_tls(rlib, vsftpd_implicit):
    ftps = rlib.FTP_TLS(
        context=vsftpd_implicit.client_context(), implicit=True, timeout=TIMEOUT
    )
    try:
        ftps.connect(vsftpd_implicit.host, vsftpd_implicit.port)
        with pytest.raises(ValueError, match="^Already using TLS$"):
            ftps.auth()
        ftps.login(vsftpd_implicit.user, vsftpd_implicit.password)
    finally:
        ftps.close()


def test_implicit_transfers(rlib, vsftpd_implicit, vroot):
    payload = CONTENT["medium.bin"][::-1]
    with open_tls(
        rlib, vsftpd_implicit, vsftpd_implicit.client_context(), implicit=True
    ) as ftps:
        assert set(TOP_LEVEL) <= set(ftps.nlst())
        assert sha256(retr(ftps, "big.bin")[1]) == sha256(CONTENT["big.bin"])
        ftps.storbinary("STOR implicit-up.bin", io.BytesIO(payload))
        ftps.voidcmd("TYPE I")
        with ftps.transfercmd("RETR implicit-up.bin") as conn:
            assert conn.session_reused is True
            data = read_all(conn)
        ftps.voidresp()
    assert sha256(data) == sha256(payload)
    assert sha256((vroot / "implicit-up.bin").read_bytes()) == sha256(payload)


def test_implicit_verifies_the_certificate(rlib, vsftpd_implicit, other_ca):
    ftps = rlib.FTP_TLS(context=ca_context(other_ca), implicit=True, timeout=TIMEOUT)
    try:
        with pytest.raises(ssl.SSLCertVerificationError):
            ftps.connect(vsftpd_implicit.host, vsftpd_implicit.port)
    finally:
        ftps.close()
    assert ftps.sock is None


# -- client certificates (vsftpd require_cert=YES) ----------------------------------


def test_client_certificate_is_presented(rlib, vsftpd_clientcert, certs, vroot):
    with open_tls(
        rlib,
        vsftpd_clientcert,
        vsftpd_clientcert.client_context(),
        client_certfile=str(certs.client_cert),
        client_keyfile=certs.client_key,  # a path-like works too
    ) as ftps:
        assert sha256(retr(ftps, "medium.bin")[1]) == sha256(CONTENT["medium.bin"])
        ftps.storbinary("STOR by-cert.bin", io.BytesIO(CONTENT["small.bin"]))
    assert (vroot / "by-cert.bin").read_bytes() == CONTENT["small.bin"]


def test_missing_client_certificate_is_refused(lib, vsftpd_clientcert):
    ftps = lib.FTP_TLS(context=vsftpd_clientcert.client_context(), timeout=TIMEOUT)
    try:
        ftps.connect(vsftpd_clientcert.host, vsftpd_clientcert.port)
        with pytest.raises(ssl.SSLError, match="CERTIFICATE_REQUIRED"):
            ftps.login(vsftpd_clientcert.user, vsftpd_clientcert.password)
    finally:
        ftps.close()


def test_legacy_certfile_and_keyfile(lib, vsftpd_clientcert, certs):
    if not LEGACY:  # Python 3.12 removed them
        with pytest.raises(TypeError):
            lib.FTP_TLS(certfile=str(certs.client_cert), keyfile=str(certs.client_key))
        return
    with pytest.warns(DeprecationWarning, match="^keyfile and certfile are deprecated"):
        ftps = lib.FTP_TLS(
            "",
            "",
            "",
            "",
            str(certs.client_key),
            str(certs.client_cert),
            timeout=TIMEOUT,
        )
    try:
        assert ftps.keyfile == str(certs.client_key)
        assert ftps.certfile == str(certs.client_cert)
        ftps.connect(vsftpd_clientcert.host, vsftpd_clientcert.port)
        assert ftps.login(vsftpd_clientcert.user, vsftpd_clientcert.password) == (
            "230 Login successful."
        )
    finally:
        ftps.close()


@pytest.mark.parametrize("argument", ["keyfile", "certfile"])
def test_legacy_file_with_a_context_is_refused(lib, certs, argument):
    kwargs = {argument: str(certs.client_cert), "context": ssl.create_default_context()}
    if not LEGACY:
        with pytest.raises(TypeError):
            lib.FTP_TLS(**kwargs)
        return
    with pytest.raises(
        ValueError, match=f"^context and {argument} arguments are mutually exclusive$"
    ):
        lib.FTP_TLS(**kwargs)
