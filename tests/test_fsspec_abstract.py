"""fsspec's own conformance suite (fsspec.tests.abstract) run on rftp://:
all of it (open, pipe, get, put, copy) against pyftpdlib (MLSD listings),
and open, pipe, get and put against vsftpd (LIST listings, real paths)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from fsspec.tests import abstract
from fsspec_support import base
from rftplib.fsspec import FTPFileSystem
from servers import PyftpdlibThreaded


def _serve(kind):
    root = Path(tempfile.mkdtemp(prefix="rftp-abstract-"))
    root.chmod(0o755)
    if kind == "pyftpdlib":
        server = PyftpdlibThreaded(root)
    else:
        from vsftpd import Vsftpd

        server = Vsftpd(root)
    with server as srv:
        # One instance per server, as an application keeps one: its pool
        # stays logged in from test to test.
        fs = FTPFileSystem(
            srv.host,
            srv.port,
            srv.user,
            srv.password,
            timeout=10,
            skip_instance_cache=True,
        )
        yield fs, base(srv) + "/work"
        fs.close()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def _pyftpdlib():
    yield from _serve("pyftpdlib")


@pytest.fixture(scope="module")
def _vsftpd():
    yield from _serve("vsftpd")


class _Fixtures(abstract.AbstractFixtures):
    @pytest.fixture
    def fs_join(self):
        return lambda *args: "/".join(args)


class PyftpdlibFixtures(_Fixtures):
    @pytest.fixture
    def fs(self, _pyftpdlib):
        return _pyftpdlib[0]

    @pytest.fixture
    def fs_path(self, _pyftpdlib):
        return _pyftpdlib[1]


class VsftpdFixtures(_Fixtures):
    @pytest.fixture
    def fs(self, _vsftpd):
        return _vsftpd[0]

    @pytest.fixture
    def fs_path(self, _vsftpd):
        return _vsftpd[1]


class TestPyftpdlibOpen(abstract.AbstractOpenTests, PyftpdlibFixtures):
    pass


class TestPyftpdlibPipe(abstract.AbstractPipeTests, PyftpdlibFixtures):
    pass


class TestPyftpdlibGet(abstract.AbstractGetTests, PyftpdlibFixtures):
    pass


class TestPyftpdlibPut(abstract.AbstractPutTests, PyftpdlibFixtures):
    pass


class TestPyftpdlibCopy(abstract.AbstractCopyTests, PyftpdlibFixtures):
    pass


class TestVsftpdOpen(abstract.AbstractOpenTests, VsftpdFixtures):
    pass


class TestVsftpdPipe(abstract.AbstractPipeTests, VsftpdFixtures):
    pass


class TestVsftpdGet(abstract.AbstractGetTests, VsftpdFixtures):
    pass


class TestVsftpdPut(abstract.AbstractPutTests, VsftpdFixtures):
    pass
