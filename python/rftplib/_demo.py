"""``python -m rftplib._demo``: a real transfer against a local FTP server.

Starts pyftpdlib on 127.0.0.1 in this process, then uploads, lists,
downloads and checks a file with ``rftplib.FTP`` exactly as a script written
for ``ftplib.FTP`` would; then does the same with rftplib's own ``upload()``,
``download(connections=4)`` and ``scandir()``. Needs ``pip install pyftpdlib``.
"""

import hashlib
import logging
import os
import sys
import tempfile
import threading
import time


def _serve(root):
    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.handlers import FTPHandler
    from pyftpdlib.servers import ThreadedFTPServer

    # A handler of our own keeps pyftpdlib from logging every command to stderr.
    log = logging.getLogger("pyftpdlib")
    log.addHandler(logging.NullHandler())
    log.propagate = False
    authorizer = DummyAuthorizer()
    authorizer.add_user("demo", "demo", root, perm="elradfmwMT")
    handler = type("DemoHandler", (FTPHandler,), {"authorizer": authorizer, "banner": "rftplib demo server"})
    server = ThreadedFTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"timeout": 0.2}, daemon=True)
    thread.start()
    return server, thread


def main(size_mib=64):
    try:
        import pyftpdlib  # noqa: F401
    except ImportError:
        sys.exit("the demo needs pyftpdlib: pip install pyftpdlib")
    from rftplib import FTP, all_errors

    with tempfile.TemporaryDirectory(prefix="rftplib-demo-") as root:
        server, thread = _serve(root)
        host, port = server.address[:2]
        payload = os.urandom(size_mib << 20)
        digest = hashlib.sha256(payload).hexdigest()
        local = os.path.join(root, "..", os.path.basename(root) + "-upload.bin")
        with open(local, "wb") as f:
            f.write(payload)
        try:
            with FTP() as ftp:
                print(ftp.connect(host, port))
                print(ftp.login("demo", "demo"))
                t = time.perf_counter()
                with open(local, "rb") as f:
                    print(ftp.storbinary("STOR data.bin", f))
                up = time.perf_counter() - t
                print("LIST:")
                ftp.retrlines("LIST")
                h = hashlib.sha256()
                t = time.perf_counter()
                print(ftp.retrbinary("RETR data.bin", h.update))
                down = time.perf_counter() - t
                print("SIZE:", ftp.size("data.bin"))
                try:
                    ftp.delete("missing.bin")
                except all_errors as e:
                    print("expected error:", e)
                # Beyond ftplib: whole-file jobs and parsed listings.
                up2 = ftp.upload(local, "copy.bin")
                print(f"upload(): {up2.bytes} bytes in {up2.seconds:.2f} s")
                target = os.path.join(root, "..", os.path.basename(root) + "-download.bin")
                got = ftp.download("copy.bin", target, connections=4)
                print(f"download(connections={got.connections}): {got.bytes} bytes in {got.seconds:.2f} s")
                with open(target, "rb") as f:
                    h2 = hashlib.sha256(f.read()).hexdigest()
                os.unlink(target)
                for entry in ftp.scandir():
                    print(f"scandir: {entry.name:10} {entry.type:5} {entry.size}")
            ok = h.hexdigest() == digest and h2 == digest
            print(f"upload {size_mib / up:.0f} MiB/s, download {size_mib / down:.0f} MiB/s")
            print("sha256 matches:", ok)
            if not ok:
                sys.exit(1)
        finally:
            os.unlink(local)
            server.close_all()
            thread.join(timeout=5)


if __name__ == "__main__":
    main()
