"""Helpers for test_tls.py: certificate files, a scripted FTPS control server
and a vsftpd that demands client certificates.

No pytest here and no skips: a missing component raises.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from vsftpd import Vsftpd

__all__ = [
    "CertFiles",
    "ClientCertVsftpd",
    "ScriptedFtps",
    "make_cert_files",
    "temp_root",
]


@dataclass
class CertFiles:
    """PEM files issued by one trustme CA (all world-readable, for vsftpd)."""

    ca: Path  # the CA certificate
    server: Path  # key + chain for 127.0.0.1, localhost and ::1
    localhost_only: Path  # key + chain for the name localhost only (no IP)
    client_cert: Path  # a client certificate ...
    client_key: Path  # ... and its key, in separate files


def make_cert_files(ca, directory):
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    files = CertFiles(
        ca=directory / "ca.pem",
        server=directory / "server.pem",
        localhost_only=directory / "localhost-only.pem",
        client_cert=directory / "client-cert.pem",
        client_key=directory / "client-key.pem",
    )
    ca.cert_pem.write_to_path(str(files.ca))
    ca.issue_cert(
        "127.0.0.1", "localhost", "::1"
    ).private_key_and_cert_chain_pem.write_to_path(str(files.server))
    ca.issue_cert("localhost").private_key_and_cert_chain_pem.write_to_path(
        str(files.localhost_only)
    )
    client = ca.issue_cert("client@example.com", common_name="rftplib test client")
    client.cert_chain_pems[0].write_to_path(str(files.client_cert))
    client.private_key_pem.write_to_path(str(files.client_key))
    directory.chmod(0o755)
    for path in vars(files).values():
        path.chmod(0o644)
    return files


class ClientCertVsftpd(Vsftpd):
    """vsftpd that refuses TLS clients without a certificate signed by ``ca_file``
    (``require_cert=YES``, ``validate_cert=YES``), on control and data connections."""

    def __init__(self, root, *, ca_file, **kwargs):
        kwargs.setdefault("tls", "explicit")
        super().__init__(root, **kwargs)
        self.ca_file = Path(ca_file)

    def _config(self):
        return super()._config() + (
            f"require_cert=YES\nvalidate_cert=YES\nca_certs_file={self.ca_file}\n"
        )


class ScriptedFtps:
    """A control-connection-only FTPS server on 127.0.0.1 with real TLS
    (Python's ssl), for what neither pyftpdlib nor vsftpd shows: the exact
    commands on the wire, whether each came inside TLS, and CCC.

    Every command is recorded in ``commands`` as ``(line, tls_version_or_None)``.
    Replies (one connection at a time):

    - ``AUTH TLS``: ``234``, then the TLS handshake. With
      ``plaintext_after_auth=True`` it answers the client's handshake with a
      cleartext ``500`` line instead (a server that is not speaking TLS).
    - ``USER``/``PASS``: 331/230. ``PBSZ``: ``200 PBSZ=0 accepted.``
      ``PROT P``/``PROT C``: ``200 Protection level set to P.``/``... C.``
    - ``CCC``: ``200 Control channel now in cleartext.``, then the TLS
      close_notify exchange; the connection goes on in cleartext.
    - ``NOOP``: ``200 NOOP over TLSv1.3`` (the version) or ``200 NOOP in cleartext``.
    - ``ABOR``: ``225 No transfer to abort.`` ``QUIT``: 221 and close. Else 502.

    ``max_version`` caps the server's TLS version (an ``ssl.TLSVersion``).
    """

    def __init__(self, certfile, *, max_version=None, plaintext_after_auth=False):
        self.host = "127.0.0.1"
        self.user = "scripted"
        self.password = "secret"
        self.commands = []
        self.errors = []
        self.plaintext_after_auth = plaintext_after_auth
        self._ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._ctx.load_cert_chain(str(certfile))
        if max_version is not None:
            self._ctx.maximum_version = max_version
        self._listener = None
        self._thread = None
        self._stop = threading.Event()
        self._open = []  # sockets of the current session, closed when it ends
        self.port = None

    def __enter__(self):
        self._listener = socket.create_server((self.host, 0))
        self._listener.settimeout(0.05)
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(
            target=self._serve, name="scripted-ftps", daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(15)
        self._listener.close()
        if self._thread.is_alive():
            raise RuntimeError("the scripted FTPS server did not stop")

    def sent(self):
        """The command lines received so far, without the TLS flags."""
        return [line for line, _ in self.commands]

    def _serve(self):
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                conn.settimeout(5)
                self._session(conn)
            except (OSError, ValueError) as e:
                self.errors.append(e)
            finally:
                conn.close()

    @staticmethod
    def _readline(conn):
        line = bytearray()
        while not line.endswith(b"\n"):
            byte = conn.recv(1)
            if not byte:
                return None
            line += byte
        return line.decode("utf-8").rstrip("\r\n")

    def _session(self, conn):
        try:
            self._converse(conn)
        finally:
            for sock in self._open:
                sock.close()
            self._open.clear()

    def _converse(self, conn):
        conn.sendall(b"220 scripted FTPS server ready.\r\n")
        tls = None  # the SSLSocket while TLS is on
        while not self._stop.is_set():
            current = tls if tls is not None else conn
            line = self._readline(current)
            if line is None:
                return
            version = tls.version() if tls else None
            self.commands.append((line, version))
            verb = line.split(" ", 1)[0].upper()

            def reply(text, sock=current):
                sock.sendall(text.encode("utf-8") + b"\r\n")

            if verb == "AUTH":
                reply("234 AUTH TLS accepted.")
                if self.plaintext_after_auth:
                    reply("500 This server does not speak TLS after all.")
                    try:
                        while conn.recv(4096):
                            pass
                    except OSError:
                        pass
                    return
                tls = self._ctx.wrap_socket(conn, server_side=True)
                self._open.append(tls)
            elif verb == "USER":
                reply("331 Password required.")
            elif verb == "PASS":
                reply("230 Logged in.")
            elif verb == "PBSZ":
                reply("200 PBSZ=0 accepted.")
            elif line.upper() == "PROT P":
                reply("200 Protection level set to P.")
            elif line.upper() == "PROT C":
                reply("200 Protection level set to C.")
            elif verb == "CCC":
                reply("200 Control channel now in cleartext.")
                conn = tls.unwrap()
                tls = None
            elif verb == "NOOP":
                reply(
                    f"200 NOOP over {version}" if version else "200 NOOP in cleartext"
                )
            elif verb == "ABOR":
                reply("225 No transfer to abort.")
            elif verb == "QUIT":
                reply("221 Goodbye.")
                return
            else:
                reply("502 Command not implemented.")


def temp_root(populate):
    """A root directory every local account can reach (for vsftpd), filled by
    ``populate(path)``; returns (root, cleanup)."""
    holder = Path(tempfile.mkdtemp(prefix="rftplib-tls-"))
    holder.chmod(0o755)
    root = holder / "root"
    root.mkdir()
    populate(root)
    return root, lambda: shutil.rmtree(holder, ignore_errors=True)
