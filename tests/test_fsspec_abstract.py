"""fsspec's own conformance suite (fsspec.tests.abstract: open, pipe, get,
put, copy) run on rftp:// against pyftpdlib."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from fsspec.tests import abstract
from rftplib.fsspec import FTPFileSystem
from servers import PyftpdlibThreaded


@pytest.fixture(scope="module")
def _server():
    root = Path(tempfile.mkdtemp(prefix="rftp-abstract-"))
    with PyftpdlibThreaded(root) as srv:
        yield srv
    shutil.rmtree(root, ignore_errors=True)


class RftpFixtures(abstract.AbstractFixtures):
    @pytest.fixture
    def fs(self, _server):
        fs = FTPFileSystem(
            _server.host,
            _server.port,
            _server.user,
            _server.password,
            timeout=10,
            skip_instance_cache=True,
        )
        yield fs
        fs.close()

    @pytest.fixture
    def fs_path(self):
        return "/work"

    @pytest.fixture
    def fs_join(self):
        return lambda *args: "/".join(args)


class TestRftpOpen(abstract.AbstractOpenTests, RftpFixtures):
    pass


class TestRftpPipe(abstract.AbstractPipeTests, RftpFixtures):
    pass


class TestRftpGet(abstract.AbstractGetTests, RftpFixtures):
    pass


class TestRftpPut(abstract.AbstractPutTests, RftpFixtures):
    pass


class TestRftpCopy(abstract.AbstractCopyTests, RftpFixtures):
    pass
