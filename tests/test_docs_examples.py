"""The examples of the ftplib documentation and docstrings, against local servers.

Doc/library/ftplib.rst shows a session with a vsftpd mirror; the vsftpd
variants below reproduce its reply texts exactly.
"""

import pytest
from support import CONTENT, TIMEOUT, TOP_LEVEL, file_sha256, sha256


def test_module_sample_session(lib, ftpd, tmp_path, monkeypatch, capsys):
    # ftp = FTP('ftp.us.debian.org') connects to the default port.
    monkeypatch.setattr(lib.FTP, "port", ftpd.port)
    ftp = lib.FTP(ftpd.host, timeout=TIMEOUT)
    try:
        assert ftp.login() == "230 Login successful."
        assert ftp.cwd("sub") == '250 "/sub" is the current directory.'
        assert ftp.retrlines("LIST") == "226 Transfer complete."
        listing = capsys.readouterr().out.splitlines()
        assert sorted(line.split()[-1] for line in listing) == ["deeper", "inner.bin"]
        target = tmp_path / "README"
        with open(target, "wb") as fp:
            assert (
                ftp.retrbinary("RETR inner.bin", fp.write) == "226 Transfer complete."
            )
        assert file_sha256(target) == sha256(CONTENT["sub/inner.bin"])
        assert ftp.quit() == "221 Goodbye."
    finally:
        ftp.close()


def test_module_sample_session_against_vsftpd(lib, vsftpd, tmp_path, capsys):
    ftp = lib.FTP(timeout=TIMEOUT)
    try:
        ftp.connect(vsftpd.host, vsftpd.port)
        assert ftp.login(vsftpd.user, vsftpd.password) == "230 Login successful."
        assert ftp.cwd("sub") == "250 Directory successfully changed."
        assert ftp.retrlines("LIST") == "226 Directory send OK."
        listing = capsys.readouterr().out.splitlines()
        assert sorted(line.split()[-1] for line in listing) == ["deeper", "inner.bin"]
        target = tmp_path / "README"
        with open(target, "wb") as fp:
            assert (
                ftp.retrbinary("RETR inner.bin", fp.write) == "226 Transfer complete."
            )
        assert file_sha256(target) == sha256(CONTENT["sub/inner.bin"])
        assert ftp.quit() == "221 Goodbye."
    finally:
        ftp.close()


def test_context_manager_example(lib, ftpd, monkeypatch, capsys):
    # with FTP("ftp1.at.proftpd.org") as ftp: ftp.login(); ftp.dir()
    monkeypatch.setattr(lib.FTP, "port", ftpd.port)
    with lib.FTP(ftpd.host, timeout=TIMEOUT) as ftp:
        ftp.login()
        assert ftp.dir() is None
    listing = capsys.readouterr().out.splitlines()
    assert sorted(line.split(None, 8)[8] for line in listing) == TOP_LEVEL
    assert ftp.sock is None


def test_docstring_example(lib, ftpd, monkeypatch, capsys):
    # from ftplib import FTP; ftp = FTP('ftp.python.org'); ftp.login();
    # ftp.retrlines('LIST'); ftp.quit()
    monkeypatch.setattr(lib.FTP, "port", ftpd.port)
    ftp = lib.FTP(ftpd.host)
    try:
        assert ftp.login() == "230 Login successful."
        assert ftp.retrlines("LIST") == "226 Transfer complete."
        assert ftp.quit() == "221 Goodbye."
    finally:
        ftp.close()
    assert len(capsys.readouterr().out.splitlines()) == len(TOP_LEVEL)


def test_ftp_tls_example(lib, ftpd_tls, tls_ca):
    # ftps = FTP_TLS('ftp.pureftpd.org'); ftps.login(); ftps.prot_p(); ftps.nlst()
    ftps = lib.FTP_TLS(context=tls_ca.client_context(), timeout=TIMEOUT)
    try:
        ftps.connect(ftpd_tls.host, ftpd_tls.port)
        assert ftps.login(ftpd_tls.user, ftpd_tls.password) == "230 Login successful."
        assert ftps.prot_p() == "200 Protection set to Private"
        assert sorted(ftps.nlst()) == TOP_LEVEL
        chunks = []
        assert (
            ftps.retrbinary("RETR big.bin", chunks.append) == "226 Transfer complete."
        )
        assert sha256(b"".join(chunks)) == sha256(CONTENT["big.bin"])
        assert ftps.quit() == "221 Goodbye."
    finally:
        ftps.close()


def test_ftp_tls_login_secures_the_control_connection(lib, ftpd_tls, tls_ca):
    import ssl

    ftps = lib.FTP_TLS(context=tls_ca.client_context(), timeout=TIMEOUT)
    try:
        ftps.connect(ftpd_tls.host, ftpd_tls.port)
        assert not isinstance(ftps.sock, ssl.SSLSocket)
        ftps.login(ftpd_tls.user, ftpd_tls.password)
        assert isinstance(ftps.sock, ssl.SSLSocket)
        with pytest.raises(ValueError):
            ftps.auth()  # "Already using TLS"
    finally:
        ftps.close()


def test_ftp_tls_storbinary_with_prot_p(lib, ftpd_tls, tls_ca, root):
    import io

    ftps = lib.FTP_TLS(context=tls_ca.client_context(), timeout=TIMEOUT)
    try:
        ftps.connect(ftpd_tls.host, ftpd_tls.port)
        ftps.login(ftpd_tls.user, ftpd_tls.password)
        ftps.prot_p()
        data = CONTENT["medium.bin"]
        assert (
            ftps.storbinary("STOR secret.bin", io.BytesIO(data))
            == "226 Transfer complete."
        )
        assert file_sha256(root / "secret.bin") == sha256(data)
        assert ftps.prot_c() == "200 Protection set to Clear"
        assert "secret.bin" in ftps.nlst()
    finally:
        ftps.close()
