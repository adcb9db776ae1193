"""Control-connection commands against a real server (pyftpdlib in-process)."""

import pytest
from faultserver import FaultServer
from support import TIMEOUT, connect


def test_connect_returns_and_stores_the_welcome(lib, ftpd):
    ftp = lib.FTP(timeout=TIMEOUT)
    try:
        welcome = ftp.connect(ftpd.host, ftpd.port)
        assert welcome == "220 pyftpdlib ready."
        assert ftp.getwelcome() == welcome
        assert ftp.welcome == welcome
        assert ftp.host == ftpd.host and ftp.port == ftpd.port
    finally:
        ftp.close()


def test_constructor_with_host_connects_and_user_logs_in(lib, ftpd, monkeypatch):
    # FTP(host, user, passwd) connects to the class-level default port.
    monkeypatch.setattr(lib.FTP, "port", ftpd.port)
    with lib.FTP(ftpd.host, ftpd.user, ftpd.password, timeout=TIMEOUT) as ftp:
        assert ftp.pwd() == "/"


def test_login_with_password(lib, ftpd):
    ftp = connect(lib, ftpd, login=False)
    try:
        assert ftp.login(ftpd.user, ftpd.password) == "230 Login successful."
    finally:
        ftp.close()


def test_login_without_arguments_is_anonymous(lib, ftpd):
    ftp = connect(lib, ftpd, login=False)
    try:
        assert ftp.login() == "230 Login successful."
        assert "small.bin" in ftp.nlst()
        # pyftpdlib gives anonymous read-only access: proves who we are.
        with pytest.raises(lib.error_perm, match=r"^550 "):
            ftp.mkd("not-allowed")
    finally:
        ftp.close()


def test_anonymous_login_sends_the_default_password(lib):
    script = [
        (None, ["220 hi"]),
        ("USER anonymous", ["331 need password"]),
        ("PASS anonymous@", ["230 in"]),
    ]
    with FaultServer(script) as srv:
        ftp = lib.FTP(timeout=TIMEOUT)
        ftp.connect(srv.host, srv.port)
        assert ftp.login() == "230 in"
        ftp.close()
    assert srv.commands == ["USER anonymous", "PASS anonymous@"]


def test_wrong_password_raises_error_perm_530(lib, ftpd):
    ftp = connect(lib, ftpd, login=False)
    try:
        with pytest.raises(lib.error_perm) as excinfo:
            ftp.login(ftpd.user, "wrong")
        assert str(excinfo.value).startswith("530")
    finally:
        ftp.close()


def test_pwd_cwd_and_cwd_dotdot(ftp):
    assert ftp.pwd() == "/"
    assert ftp.cwd("sub") == '250 "/sub" is the current directory.'
    assert ftp.pwd() == "/sub"
    ftp.cwd("deeper")
    assert ftp.pwd() == "/sub/deeper"
    ftp.cwd("..")
    assert ftp.pwd() == "/sub"
    ftp.cwd("..")
    assert ftp.pwd() == "/"


def test_cwd_to_missing_directory_raises_error_perm(lib, ftp):
    with pytest.raises(lib.error_perm) as excinfo:
        ftp.cwd("no-such-dir")
    assert str(excinfo.value).startswith("550")
    assert ftp.pwd() == "/"


def test_size_after_type_i(ftp):
    assert ftp.sendcmd("TYPE I") == "200 Type set to: Binary."
    assert ftp.size("big.bin") == 3 * 1024 * 1024 + 7
    assert ftp.size("empty.bin") == 0


def test_size_of_missing_file_raises_error_perm(lib, ftp):
    ftp.sendcmd("TYPE I")
    with pytest.raises(lib.error_perm, match=r"^550 "):
        ftp.size("missing.bin")


def test_mkd_returns_the_path_and_rmd_removes_it(ftp, root):
    assert ftp.mkd("newdir") == "/newdir"
    assert (root / "newdir").is_dir()
    assert ftp.rmd("newdir") == "250 Directory removed."
    assert not (root / "newdir").exists()


def test_delete(ftp, root):
    assert ftp.delete("small.bin") == "250 File removed."
    assert not (root / "small.bin").exists()


def test_delete_missing_file_raises_error_perm_550(lib, ftp):
    try:
        ftp.delete("missing.bin")
    except lib.error_perm as e:
        assert str(e).startswith("550")
    else:
        pytest.fail("delete of a missing file did not raise")


def test_rename(ftp, root):
    data = (root / "small.bin").read_bytes()
    assert ftp.rename("small.bin", "renamed.bin") == "250 Renaming ok."
    assert (root / "renamed.bin").read_bytes() == data
    assert not (root / "small.bin").exists()


def test_rename_missing_file_raises_error_perm(lib, ftp):
    with pytest.raises(lib.error_perm, match=r"^550 "):
        ftp.rename("missing.bin", "x.bin")


def test_voidcmd_noop_returns_the_reply(ftp):
    assert ftp.voidcmd("NOOP") == "200 I successfully did nothing'."


def test_sendcmd_returns_multiline_replies_joined_with_newlines(ftp):
    resp = ftp.sendcmd("FEAT")
    lines = resp.split("\n")
    assert lines[0] == "211-Features supported:"
    assert lines[-1] == "211 End FEAT."
    assert (
        " MLST type*;perm*;size*;modify*;unique*;unix.mode;unix.uid;unix.gid;" in lines
    )


def test_sendcmd_mdtm_and_site_chmod(ftp, root):
    assert ftp.sendcmd("MDTM small.bin").startswith("213 ")
    assert ftp.sendcmd("SITE CHMOD 600 small.bin") == "200 SITE CHMOD successful."
    assert (root / "small.bin").stat().st_mode & 0o777 == 0o600


def test_unknown_command_raises_error_perm_500(lib, ftp):
    with pytest.raises(lib.error_perm) as excinfo:
        ftp.sendcmd("XYZZY")
    assert str(excinfo.value).startswith("500")


def test_all_errors_catches_a_server_error(lib, ftp):
    try:
        ftp.retrbinary("RETR missing.bin", lambda data: None)
    except lib.all_errors as e:
        caught = e
    assert isinstance(caught, lib.error_perm)
    assert str(caught) == "550 No such file or directory."
    assert caught.args == ("550 No such file or directory.",)


def test_all_errors_catches_connection_refused(lib, ftpd):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: connections are refused
        ftp = lib.FTP(timeout=TIMEOUT)
        with pytest.raises(lib.all_errors) as excinfo:
            ftp.connect("127.0.0.1", port)
    assert isinstance(excinfo.value, ConnectionRefusedError)
    ftp.close()


def test_crlf_in_a_command_raises_value_error(lib, ftp):
    with pytest.raises(ValueError):
        ftp.sendcmd("NOOP\r\nDELE small.bin")
    with pytest.raises(ValueError):
        ftp.voidcmd("CWD a\nb")
    # Nothing was sent: the session is still in step.
    assert ftp.voidcmd("NOOP").startswith("200")


def test_context_manager_quits_and_closes(lib, ftpd):
    with lib.FTP(timeout=TIMEOUT) as ftp:
        ftp.connect(ftpd.host, ftpd.port)
        ftp.login(ftpd.user, ftpd.password)
        assert ftp.pwd() == "/"
    assert ftp.sock is None
    assert ftp.file is None


def test_context_manager_sends_quit(lib):
    script = [(None, ["220 hi"]), ("USER u", ["230 in"]), ("QUIT", ["221 bye"])]
    with FaultServer(script) as srv:
        with lib.FTP(timeout=TIMEOUT) as ftp:
            ftp.connect(srv.host, srv.port)
            ftp.login("u")
        assert ftp.sock is None
    assert srv.commands == ["USER u", "QUIT"]


def test_context_manager_on_unconnected_client_does_nothing(lib):
    with lib.FTP() as ftp:
        pass
    assert ftp.sock is None


def test_quit_returns_goodbye_and_closes(lib, ftpd):
    ftp = connect(lib, ftpd)
    assert ftp.quit() == "221 Goodbye."
    assert ftp.sock is None
    ftp.close()  # idempotent
    assert ftp.sock is None


def test_close_twice_and_close_unconnected(lib, ftpd):
    lib.FTP().close()
    ftp = connect(lib, ftpd)
    ftp.close()
    ftp.close()
    assert ftp.sock is None and ftp.file is None


def test_sock_reports_the_connection_addresses(lib, ftp, ftpd):
    assert ftp.sock.getpeername() == (ftpd.host, ftpd.port)
    assert ftp.sock.getsockname()[0] == "127.0.0.1"
    import socket

    assert ftp.af == socket.AF_INET


def test_source_address(lib, ftpd):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ftp = lib.FTP(timeout=TIMEOUT, source_address=("127.0.0.1", port))
    try:
        ftp.connect(ftpd.host, ftpd.port)
        assert ftp.sock.getsockname() == ("127.0.0.1", port)
    finally:
        ftp.close()


def test_acct_sends_acct_and_classifies_the_reply(lib, ftp):
    # pyftpdlib does not implement ACCT: the 502 comes back as error_perm.
    with pytest.raises(lib.error_perm, match=r"^5\d\d "):
        ftp.acct("account")
