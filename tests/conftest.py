"""Fixtures: the library under test, a known file tree, and real FTP servers.

A fixture whose server cannot start (no pyftpdlib, no vsftpd, no IPv6) fails
the tests that use it; nothing here skips, so no skip can hide a failure.
"""

from __future__ import annotations

import importlib
import shutil
import tempfile
from pathlib import Path

import pytest
from servers import PyftpdlibProcess, PyftpdlibThreaded
from support import CONTENT, TIMEOUT


def pytest_addoption(parser):
    parser.addoption(
        "--ftp-module",
        default="rftplib",
        help="module the suite tests (default rftplib); --ftp-module=ftplib runs it "
        "against the standard library to check the tests themselves",
    )


@pytest.fixture(scope="session")
def lib(request):
    """The module under test: rftplib unless --ftp-module says otherwise."""
    return importlib.import_module(request.config.getoption("--ftp-module"))


@pytest.fixture(params=["ftplib", "rftplib"])
def each_lib(request):
    """Both modules: the behaviour is shown on ftplib and enforced on rftplib."""
    return importlib.import_module(request.param)


def populate(root):
    """Write the known tree (support.CONTENT) under ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    for name, data in CONTENT.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    (root / "sub" / "deeper").mkdir()
    return root


@pytest.fixture(scope="session")
def _roots():
    """Where the per-test roots live: not under pytest's tmp_path, whose
    parent another pytest run may reset to 0700 (vsftpd's login user must be
    able to reach the root), and which pytest keeps after the run."""
    base = Path(tempfile.mkdtemp(prefix="rftplib-tests-"))
    base.chmod(0o755)
    yield base
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def root(_roots):
    """A fresh server root holding support.CONTENT, removed after the test."""
    holder = Path(tempfile.mkdtemp(dir=_roots))
    holder.chmod(0o755)
    yield populate(holder / "root")
    shutil.rmtree(holder, ignore_errors=True)


@pytest.fixture(scope="session")
def _ftpd_session(tmp_path_factory):
    with PyftpdlibThreaded(tmp_path_factory.mktemp("ftpd-idle")) as srv:
        yield srv


@pytest.fixture
def ftpd(_ftpd_session, root):
    """pyftpdlib in a thread of this process, serving this test's ``root``.

    Logins: ``ftpd.user``/``ftpd.password`` (all permissions) or anonymous
    (read-only). The server is shared by the session; the root is per test.
    """
    _ftpd_session.root = root
    yield _ftpd_session


@pytest.fixture(scope="session")
def _ftpd6_session(tmp_path_factory):
    with PyftpdlibThreaded(tmp_path_factory.mktemp("ftpd6-idle"), host="::1") as srv:
        yield srv


@pytest.fixture
def ftpd6(_ftpd6_session, root):
    """Like ``ftpd``, listening on ::1 (fails if IPv6 is unavailable)."""
    _ftpd6_session.root = root
    yield _ftpd6_session


@pytest.fixture(scope="session")
def tls_ca():
    """A trustme CA; ``tls_ca.client_context()`` trusts the test servers' certificate."""
    import ssl

    import trustme

    ca = trustme.CA()

    def client_context():
        ctx = ssl.create_default_context()
        ca.configure_trust(ctx)
        return ctx

    ca.client_context = client_context
    return ca


@pytest.fixture(scope="session")
def _ftpd_tls_session(tmp_path_factory, tls_ca):
    state = tmp_path_factory.mktemp("ftpd-tls")
    pem = state / "server.pem"
    tls_ca.issue_cert(
        "127.0.0.1", "localhost", "::1"
    ).private_key_and_cert_chain_pem.write_to_path(str(pem))
    idle = state / "idle"
    idle.mkdir()
    with PyftpdlibThreaded(idle, tls=True, certfile=pem) as srv:
        yield srv


@pytest.fixture
def ftpd_tls(_ftpd_tls_session, root):
    """``ftpd`` with explicit FTPS (AUTH TLS) offered, certificate from ``tls_ca``."""
    _ftpd_tls_session.root = root
    yield _ftpd_tls_session


@pytest.fixture
def ftpd_proc(root):
    """``python -m pyftpdlib`` in a subprocess, serving this test's ``root``."""
    with PyftpdlibProcess(root) as srv:
        yield srv


@pytest.fixture
def vsftpd(root):
    """vsftpd (root, apt) serving this test's ``root``; the files become the
    login user's. No MLSD."""
    from vsftpd import Vsftpd

    with Vsftpd(root) as srv:
        yield srv


@pytest.fixture
def ftp(lib, ftpd):
    """A client of the library under test, logged in to ``ftpd``."""
    client = lib.FTP(timeout=TIMEOUT)
    client.connect(ftpd.host, ftpd.port)
    client.login(ftpd.user, ftpd.password)
    yield client
    client.close()


# -- interop: ProFTPD, pure-ftpd and every server in each mode ------------------
# (tests/serverfarm.py; used by test_interop.py and test_tls_sequences.py)


@pytest.fixture(scope="session")
def server_farm(_roots):
    """Starts each (server, TLS mode, address) on first use; all stop at the end.

    ``server_farm.get(kind, tls=None, host="127.0.0.1")`` with kind vsftpd,
    proftpd, pureftpd or pyftpdlib. Roots are per server and shared by the
    session: tests work in directories of their own under ``srv.home``.
    """
    from serverfarm import ServerFarm

    farm = ServerFarm(_roots / "farm")
    yield farm
    farm.close()


@pytest.fixture(scope="session")
def proftpd_tls(server_farm):
    """ProFTPD with mod_tls: explicit FTPS, TLS and session reuse required."""
    return server_farm.get("proftpd", "explicit")


@pytest.fixture(scope="session")
def pureftpd_tls(server_farm):
    """pure-ftpd with TLS required on control and data (-Y 3)."""
    return server_farm.get("pureftpd", "explicit")


@pytest.fixture(scope="session")
def vsftpd_tls_reuse(server_farm):
    """vsftpd: explicit FTPS, require_ssl_reuse=YES, shared by the session."""
    return server_farm.get("vsftpd", "explicit")
