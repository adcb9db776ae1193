"""FTP.upload(): whole files, resume from a partial remote file, atomic
replacement, verification, progress, rate limits, modification times."""

from __future__ import annotations

import io
import os

import pytest
from servers import PyftpdlibThreaded
from support import CONTENT, TIMEOUT, sha256
from transfer_servers import HashMixin, WrongHashMixin

BLOCK = 8192


def login(lib, srv, cls=None, **kwargs):
    cls = cls or lib.FTP
    ftp = cls(timeout=TIMEOUT, **kwargs)
    ftp.connect(srv.host, srv.port)
    ftp.login(srv.user, srv.password)
    return ftp


@pytest.mark.parametrize("size", [0, 1, BLOCK - 1, BLOCK, BLOCK + 1, 3 << 20])
def test_sizes(lib, ftpd, root, tmp_path, size):
    data = os.urandom(size)
    (tmp_path / "f.bin").write_bytes(data)
    ftp = login(lib, ftpd)
    result = ftp.upload(tmp_path / "f.bin", blocksize=BLOCK)
    ftp.quit()
    assert sha256((root / "f.bin").read_bytes()) == sha256(data)
    assert result.bytes == size
    assert result.remote == "f.bin"
    assert isinstance(result, lib.TransferResult)


def test_upload_to_vsftpd_over_ftps(lib, root, tmp_path):
    from vsftpd import Vsftpd

    data = os.urandom(5 << 20)
    (tmp_path / "f.bin").write_bytes(data)
    with Vsftpd(root, tls="explicit", require_ssl_reuse=True) as srv:
        ftp = login(lib, srv, cls=lib.FTP_TLS, context=srv.client_context())
        ftp.prot_p()
        ftp.upload(tmp_path / "f.bin", "sub/f.bin", atomic=True)
        ftp.quit()
    assert sha256((root / "sub" / "f.bin").read_bytes()) == sha256(data)


def test_upload_from_a_file_object(lib, ftpd, root):
    data = os.urandom(1 << 20)
    ftp = login(lib, ftpd)
    result = ftp.upload(io.BytesIO(data), "obj.bin", blocksize=10_000)
    ftp.quit()
    assert (root / "obj.bin").read_bytes() == data
    assert result.bytes == len(data)


def test_resume_from_a_partial_remote_file(lib, vsftpd, root, tmp_path):
    data = os.urandom(2 << 20)
    (tmp_path / "r.bin").write_bytes(data)
    (root / "r.bin").write_bytes(data[:700_000])
    os.chown(root / "r.bin", os.stat(root).st_uid, os.stat(root).st_gid)
    ftp = login(lib, vsftpd)
    result = ftp.upload(tmp_path / "r.bin", resume=True)
    ftp.quit()
    assert result.resumed_from == 700_000
    assert result.bytes == len(data) - 700_000
    assert sha256((root / "r.bin").read_bytes()) == sha256(data)


class NoRestStorMixin:
    """REST is refused before STOR (as some servers do): APPE must be used."""

    def ftp_REST(self, line):
        self.respond("502 REST not implemented for uploads.")


def test_resume_with_appe_when_rest_is_refused(lib, root, tmp_path):
    data = os.urandom(1 << 20)
    (tmp_path / "a.bin").write_bytes(data)
    (root / "a.bin").write_bytes(data[:300_000])
    with PyftpdlibThreaded(root, handler_mixins=(NoRestStorMixin,)) as srv:
        ftp = login(lib, srv)
        result = ftp.upload(tmp_path / "a.bin", resume=True)
        ftp.quit()
    assert result.resumed_from == 300_000
    assert (root / "a.bin").read_bytes() == data


def test_atomic_upload_appears_only_when_complete(lib, ftpd, root, tmp_path):
    data = os.urandom(3 << 20)
    (tmp_path / "at.bin").write_bytes(data)
    (root / "at.bin").write_bytes(b"old contents")
    observer = login(lib, ftpd)
    seen = []

    def progress(done, total):
        if done < total:
            # A second session sees the old file, whole, while the new one streams.
            chunks = []
            observer.retrbinary("RETR at.bin", chunks.append)
            seen.append(b"".join(chunks))

    ftp = login(lib, ftpd)
    ftp.upload(tmp_path / "at.bin", atomic=True, progress=progress, rate_limit=4 << 20)
    ftp.quit()
    chunks = []
    observer.retrbinary("RETR at.bin", chunks.append)
    observer.quit()
    assert seen and all(s == b"old contents" for s in seen)
    assert b"".join(chunks) == data
    assert not [p for p in os.listdir(root) if "rftplib-part" in p]


def test_non_atomic_upload_is_visible_while_it_streams(lib, ftpd, root, tmp_path):
    # The contrast that shows the test above means something.
    data = os.urandom(3 << 20)
    (tmp_path / "na.bin").write_bytes(data)
    sizes = []

    def progress(done, total):
        if 0 < done < total:
            sizes.append(os.path.getsize(root / "na.bin"))

    ftp = login(lib, ftpd)
    ftp.upload(tmp_path / "na.bin", progress=progress, rate_limit=4 << 20)
    ftp.quit()
    assert any(0 < s < len(data) for s in sizes)


def test_checksum_verified(lib, root, tmp_path):
    data = os.urandom(1 << 20)
    (tmp_path / "h.bin").write_bytes(data)
    with PyftpdlibThreaded(root, handler_mixins=(HashMixin,)) as srv:
        ftp = login(lib, srv)
        result = ftp.upload(tmp_path / "h.bin")
        ftp.quit()
    assert result.checksum_algorithm == "SHA-256"
    assert result.checksum == sha256(data)


def test_wrong_checksum_raises_and_atomic_leaves_no_target(lib, root, tmp_path):
    (tmp_path / "w.bin").write_bytes(os.urandom(100_000))
    with PyftpdlibThreaded(root, handler_mixins=(WrongHashMixin,)) as srv:
        ftp = login(lib, srv)
        with pytest.raises(lib.VerificationError):
            ftp.upload(tmp_path / "w.bin", atomic=True)
        ftp.quit()
    assert not (root / "w.bin").exists()
    assert not [p for p in os.listdir(root) if "rftplib-part" in p]


def test_preserve_mtime_with_mfmt(lib, ftpd, root, tmp_path):
    (tmp_path / "m.bin").write_bytes(b"x" * 1000)
    os.utime(tmp_path / "m.bin", (1_200_000_000, 1_200_000_000))
    ftp = login(lib, ftpd)
    ftp.upload(tmp_path / "m.bin", preserve_mtime=True)
    ftp.quit()
    assert os.stat(root / "m.bin").st_mtime == 1_200_000_000


def test_rate_limit_paces_the_upload(lib, ftpd, root, tmp_path):
    rate = 8 << 20
    (tmp_path / "big.bin").write_bytes(CONTENT["big.bin"])
    ftp = login(lib, ftpd)
    result = ftp.upload(tmp_path / "big.bin", "copy.bin", rate_limit=rate)
    ftp.quit()
    assert result.seconds >= 0.9 * result.bytes / rate
    assert (root / "copy.bin").read_bytes() == CONTENT["big.bin"]


def test_missing_local_file_is_oserror(lib, ftpd, tmp_path):
    ftp = login(lib, ftpd)
    with pytest.raises(FileNotFoundError):
        ftp.upload(tmp_path / "absent.bin")
    ftp.quit()


def test_permission_refused_is_error_perm(lib, ftpd, tmp_path):
    (tmp_path / "f.bin").write_bytes(b"x")
    ftp = lib.FTP(timeout=TIMEOUT)
    ftp.connect(ftpd.host, ftpd.port)
    ftp.login()  # anonymous: read-only
    with pytest.raises(lib.error_perm):
        ftp.upload(tmp_path / "f.bin")
    assert ftp.pwd() == "/"  # still in step
    ftp.quit()


def test_raising_progress_propagates(lib, ftpd, tmp_path):
    class Stop(Exception):
        pass

    def progress(done, total):
        raise Stop

    (tmp_path / "big.bin").write_bytes(CONTENT["big.bin"])
    ftp = login(lib, ftpd)
    with pytest.raises(Stop):
        ftp.upload(
            tmp_path / "big.bin",
            "p.bin",
            atomic=True,
            progress=progress,
            rate_limit=2 << 20,
        )
    assert "p.bin" not in ftp.nlst()
    ftp.quit()


def test_upload_retries_after_the_server_is_killed_and_restarted(lib, root, tmp_path):
    import threading

    from vsftpd import Vsftpd, free_port

    data = os.urandom(3 << 20)
    (tmp_path / "k.bin").write_bytes(data)
    srv = Vsftpd(root, port=free_port(), log_protocol=True).start()
    try:
        ftp = login(lib, srv)

        def restart():
            srv.stop()
            srv.start()

        restarter = threading.Thread(target=restart)

        def progress(done, total):
            if done > 500_000 and restarter.ident is None:
                restarter.start()

        result = ftp.upload(
            tmp_path / "k.bin", rate_limit=4 << 20, progress=progress, retries=5
        )
        restarter.join()
    finally:
        srv.stop()
    assert restarter.ident is not None
    assert (root / "k.bin").read_bytes() == data
    # It continued from what the server had kept, not from the start.
    assert result.bytes < 2 * len(data)


class NoOverwriteRenameMixin:
    """RNTO refuses an existing target, as IIS does."""

    def ftp_RNTO(self, path):
        if os.path.exists(path):
            self.respond("550 Cannot rename: the file exists.")
            return
        super().ftp_RNTO(path)


def test_atomic_upload_onto_a_server_that_will_not_rename_over(lib, root, tmp_path):
    data = os.urandom(200_000)
    (tmp_path / "o.bin").write_bytes(data)
    (root / "o.bin").write_bytes(b"old")
    with PyftpdlibThreaded(root, handler_mixins=(NoOverwriteRenameMixin,)) as srv:
        ftp = login(lib, srv)
        ftp.upload(tmp_path / "o.bin", atomic=True)
        ftp.quit()
    assert (root / "o.bin").read_bytes() == data
