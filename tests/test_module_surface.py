"""The module's public surface matches ftplib's: names, constants, exceptions, signatures.

These compare the module under test with the running interpreter's ftplib.
"""

import ftplib
import inspect
import socket
import ssl

import pytest
from faultserver import FaultServer
from support import TIMEOUT

EXCEPTIONS = ["Error", "error_reply", "error_temp", "error_perm", "error_proto"]
CONSTANTS = ["FTP_PORT", "MAXLINE", "MSG_OOB", "CRLF", "B_CRLF"]
# Every name ftplib defines that is not a dunder (27 in 3.9-3.13), except the
# regex caches ftplib compiles lazily for itself.
MODULE_NAMES = sorted(
    n
    for n in vars(ftplib)
    if not n.startswith("__") and n not in ("_150_re", "_227_re")
)
FTP_METHODS = sorted(
    n
    for n, v in vars(ftplib.FTP).items()
    if callable(v)
    and (not n.startswith("_") or n in ("__init__", "__enter__", "__exit__"))
)
FTP_TLS_METHODS = sorted(
    n
    for n, v in vars(ftplib.FTP_TLS).items()
    if callable(v) and (not n.startswith("_") or n == "__init__")
)


def test_all_equals_ftplibs(lib):
    assert lib.__all__ == ftplib.__all__


@pytest.mark.parametrize("name", MODULE_NAMES)
def test_module_defines_every_ftplib_name(lib, name):
    assert hasattr(lib, name)


@pytest.mark.parametrize("name", CONSTANTS)
def test_constants_equal_ftplibs(lib, name):
    value = getattr(lib, name)
    assert value == getattr(ftplib, name)
    assert type(value) is type(getattr(ftplib, name))


def test_default_timeout_sentinel_is_sockets(lib):
    # Subclasses compare timeouts with it using `is`.
    assert lib._GLOBAL_DEFAULT_TIMEOUT is socket._GLOBAL_DEFAULT_TIMEOUT


def test_ssl_socket_class(lib):
    assert lib._SSLSocket is ssl.SSLSocket


@pytest.mark.parametrize("name", EXCEPTIONS)
def test_exception_is_a_subclass_of_ftplibs(lib, name):
    cls = getattr(lib, name)
    assert issubclass(cls, getattr(ftplib, name))
    assert cls.__module__ == lib.__name__
    assert cls.__name__ == name


@pytest.mark.parametrize("name", EXCEPTIONS[1:])
def test_error_classes_derive_from_the_modules_error(lib, name):
    assert issubclass(getattr(lib, name), lib.Error)
    assert issubclass(lib.Error, Exception)


def test_exception_carries_the_reply_text(lib):
    e = lib.error_perm("550 No such file")
    assert str(e) == "550 No such file"
    assert e.args == ("550 No such file",)


def test_all_errors(lib):
    assert isinstance(lib.all_errors, tuple)
    assert lib.all_errors == (lib.Error, OSError, EOFError, ssl.SSLError)


@pytest.mark.parametrize("name", ["FTP", "FTP_TLS"])
def test_classes_belong_to_the_module(lib, name):
    assert getattr(lib, name).__module__ == lib.__name__
    assert getattr(lib, name).__name__ == name


def test_ftp_tls_subclasses_ftp(lib):
    assert issubclass(lib.FTP_TLS, lib.FTP)


def test_check__all__(lib):
    # test.support.check__all__, as CPython's test_ftplib runs it: every public
    # name that belongs to the module (or has no __module__ and is not a
    # module) must be in __all__, apart from the documented exceptions.
    not_exported = {
        "MSG_OOB",
        "FTP_PORT",
        "MAXLINE",
        "CRLF",
        "B_CRLF",
        "Error",
        "parse150",
        "parse227",
        "parse229",
        "parse257",
        "print_line",
        "ftpcp",
        "test",
    }
    expected = set()
    for name in dir(lib):
        if name.startswith("_") or name in not_exported:
            continue
        obj = getattr(lib, name)
        module = getattr(obj, "__module__", None)
        if module == lib.__name__ or (module is None and not inspect.ismodule(obj)):
            expected.add(name)
    assert set(lib.__all__) == expected


@pytest.mark.parametrize(
    "attr, value",
    [
        ("debugging", 0),
        ("host", ""),
        ("port", 21),
        ("maxline", 8192),
        ("sock", None),
        ("file", None),
        ("welcome", None),
        ("passiveserver", True),
        ("trust_server_pasv_ipv4_address", False),
    ],
)
def test_class_attributes(lib, attr, value):
    assert getattr(lib.FTP, attr) == value
    assert getattr(lib.FTP(), attr) == value


def test_debug_is_an_alias_of_set_debuglevel(lib):
    assert lib.FTP.debug is lib.FTP.set_debuglevel


def test_new_instance_state(lib):
    ftp = lib.FTP()
    assert ftp.encoding == "utf-8"
    assert ftp.timeout is socket._GLOBAL_DEFAULT_TIMEOUT
    assert ftp.source_address is None
    with pytest.raises(AttributeError):
        ftp.af  # noqa: B018 - only connect() sets it
    with pytest.raises(AttributeError):
        ftp.lastresp  # noqa: B018 - only the first reply sets it


def test_instance_attributes_are_assignable(lib):
    ftp = lib.FTP()
    ftp.maxline = 100
    ftp.trust_server_pasv_ipv4_address = True
    ftp.timeout = 30
    ftp.source_address = ("127.0.0.1", 0)
    ftp.my_own_attribute = "subclass state"
    assert (ftp.maxline, ftp.trust_server_pasv_ipv4_address, ftp.timeout) == (
        100,
        True,
        30,
    )
    assert ftp.source_address == ("127.0.0.1", 0)
    assert ftp.my_own_attribute == "subclass state"


def _parameters(cls, name):
    """(name, kind, default) of each parameter of ``cls.name`` but ``self``.

    ``self`` is left out (native methods report it positional-only, which no
    caller can notice), as are the names of ``*args``/``**kwargs``. For
    ``__init__`` the class's own signature counts: a native class documents
    its constructor there.
    """
    if name == "__init__":
        params = list(inspect.signature(cls).parameters.values())
    else:
        params = list(inspect.signature(getattr(cls, name)).parameters.values())
        assert params[0].name == "self"
        params = params[1:]
    var = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    return [(None if p.kind in var else p.name, p.kind, p.default) for p in params]


@pytest.mark.parametrize("name", FTP_METHODS)
def test_ftp_method_signature(lib, name):
    assert _parameters(lib.FTP, name) == _parameters(ftplib.FTP, name)


# rftplib's additions to FTP_TLS(): keyword-only, after ftplib's parameters.
FTP_TLS_EXTRAS = [
    ("implicit", inspect.Parameter.KEYWORD_ONLY, False),
    ("client_certfile", inspect.Parameter.KEYWORD_ONLY, None),
    ("client_keyfile", inspect.Parameter.KEYWORD_ONLY, None),
]


@pytest.mark.parametrize("name", FTP_TLS_METHODS)
def test_ftp_tls_method_signature(lib, name):
    expected = _parameters(ftplib.FTP_TLS, name)
    if name == "__init__" and lib is not ftplib:  # --ftp-module=ftplib has none
        expected += FTP_TLS_EXTRAS
    assert _parameters(lib.FTP_TLS, name) == expected


def test_ftp_can_be_subclassed(lib):
    class Mine(lib.FTP):
        def __init__(self, *args, **kwargs):
            self.extra = "x"
            super().__init__(*args, **kwargs)

    ftp = Mine(timeout=3)
    assert ftp.extra == "x" and ftp.timeout == 3
    assert isinstance(ftp, lib.FTP)


@pytest.mark.parametrize(
    "code, name",
    [
        ("421 busy", "error_temp"),
        ("530 no", "error_perm"),
        ("abc", "error_proto"),
        ("150 early", "error_reply"),
    ],
)
def test_errors_are_caught_by_ftplibs_except_clauses(lib, code, name):
    script = [(None, ["220 hi"]), ("NOOP", [code])]
    with FaultServer(script) as srv:
        ftp = lib.FTP(timeout=TIMEOUT)
        try:
            ftp.connect(srv.host, srv.port)
            try:
                ftp.voidcmd("NOOP")
            except getattr(ftplib, name) as e:
                caught = e
            assert type(caught) is getattr(lib, name)
            assert isinstance(caught, ftplib.Error)
            assert isinstance(caught, ftplib.all_errors)
            assert str(caught) == code
        finally:
            ftp.close()


def test_error_perm_from_a_real_server_is_caught_by_ftplib(lib, ftp):
    try:
        ftp.retrbinary("RETR missing.bin", lambda data: None)
    except ftplib.error_perm as e:
        assert str(e).startswith("550")
    else:
        pytest.fail("no error_perm")
