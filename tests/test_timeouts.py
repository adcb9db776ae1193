"""Timeouts on the control and data connections (CPython's TestTimeouts, adapted)."""

import socket

import pytest


@pytest.fixture
def default_timeout():
    """socket.setdefaulttimeout(), restored afterwards."""
    old = socket.getdefaulttimeout()
    yield socket.setdefaulttimeout
    socket.setdefaulttimeout(old)


def test_timeout_in_constructor(lib, ftpd):
    ftp = lib.FTP(timeout=5)
    try:
        ftp.connect(ftpd.host, ftpd.port)
        assert ftp.sock.gettimeout() == 5
        assert ftp.timeout == 5
    finally:
        ftp.close()


def test_timeout_in_connect_overrides(lib, ftpd):
    ftp = lib.FTP(timeout=5)
    try:
        ftp.connect(ftpd.host, ftpd.port, timeout=7)
        assert ftp.sock.gettimeout() == 7
        assert ftp.timeout == 7
    finally:
        ftp.close()


def test_timeout_none_means_blocking(lib, ftpd, default_timeout):
    default_timeout(30)
    ftp = lib.FTP(timeout=None)
    try:
        ftp.connect(ftpd.host, ftpd.port)
        assert ftp.sock.gettimeout() is None
    finally:
        ftp.close()


def test_default_timeout_is_sockets_default_at_connect_time(lib, ftpd, default_timeout):
    ftp = lib.FTP()
    default_timeout(30)  # after __init__: the value at connect() counts
    try:
        ftp.connect(ftpd.host, ftpd.port)
        assert ftp.sock.gettimeout() == 30
    finally:
        ftp.close()


def test_default_timeout_with_host_in_constructor(
    lib, ftpd, default_timeout, monkeypatch
):
    monkeypatch.setattr(lib.FTP, "port", ftpd.port)
    default_timeout(30)
    ftp = lib.FTP(ftpd.host)
    try:
        assert ftp.sock.gettimeout() == 30
    finally:
        ftp.close()


def test_timeout_assigned_directly(lib, ftpd):
    ftp = lib.FTP()
    ftp.timeout = 30
    try:
        ftp.connect(ftpd.host, ftpd.port)
        assert ftp.sock.gettimeout() == 30
    finally:
        ftp.close()


def test_timeout_zero_raises_value_error_at_connect(lib, ftpd):
    ftp = lib.FTP(timeout=0)  # accepted here...
    with pytest.raises(ValueError):
        ftp.connect(ftpd.host, ftpd.port)  # ...refused here
    assert ftp.sock is None
    ftp.close()


def test_timeout_zero_in_constructor_with_host(lib, ftpd, monkeypatch):
    monkeypatch.setattr(lib.FTP, "port", ftpd.port)
    with pytest.raises(ValueError):
        lib.FTP(ftpd.host, timeout=0)


def test_passive_data_connection_gets_the_timeout(lib, ftpd):
    ftp = lib.FTP(timeout=6)
    try:
        ftp.connect(ftpd.host, ftpd.port)
        ftp.login(ftpd.user, ftpd.password)
        ftp.voidcmd("TYPE I")
        with ftp.transfercmd("RETR small.bin") as conn:
            assert conn.gettimeout() == 6
            while conn.recv(8192):
                pass
        ftp.voidresp()
    finally:
        ftp.close()


def test_active_data_connection_gets_the_timeout(lib, ftpd):
    ftp = lib.FTP(timeout=6)
    try:
        ftp.connect(ftpd.host, ftpd.port)
        ftp.login(ftpd.user, ftpd.password)
        ftp.set_pasv(False)
        ftp.voidcmd("TYPE I")
        with ftp.transfercmd("RETR small.bin") as conn:
            assert conn.gettimeout() == 6
            while conn.recv(8192):
                pass
        ftp.voidresp()
        with ftp.makeport() as listener:
            assert listener.gettimeout() == 6
            ftp.sendcmd("NLST")
            conn, _ = listener.accept()
            with conn:
                while conn.recv(8192):
                    pass
        ftp.voidresp()
    finally:
        ftp.close()


def test_connect_by_name_tries_every_address(lib, ftpd):
    # "localhost" may resolve to ::1 first; the server listens on 127.0.0.1 only.
    ftp = lib.FTP(timeout=5)
    try:
        assert ftp.connect("localhost", ftpd.port).startswith("220")
        assert ftp.sock.getpeername()[0] == "127.0.0.1"
        assert ftp.host == "localhost"
    finally:
        ftp.close()


@pytest.mark.parametrize("value", [float("inf"), 1e300, 1e12])
def test_out_of_range_timeout_is_overflow_error(lib, ftpd, value):
    # As socket.settimeout does; never a panic.
    ftp = lib.FTP(timeout=value)
    try:
        with pytest.raises(OverflowError):
            ftp.connect(ftpd.host, ftpd.port)
    finally:
        ftp.close()
