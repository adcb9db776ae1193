"""A fast, drop-in replacement for the standard library's ftplib.

Change ``from ftplib import FTP`` to ``from rftplib import FTP``: the classes,
methods, return values, exceptions and debug output are ftplib's, and the
connections are handled by a Rust engine that releases the GIL while it waits.
"""

import socket
import sys

try:
    import ssl
except ImportError:  # pragma: no cover - CPython without OpenSSL
    ssl = None

# ftplib is imported first so that rftplib's exception classes derive from the
# real ftplib's, even if ``sys.modules['ftplib']`` is later pointed at rftplib.
import ftplib as _ftplib  # noqa: F401

from ._rftplib import (
    B_CRLF,
    CRLF,
    FTP,
    FTP_PORT,
    FTP_TLS,
    MAXLINE,
    MSG_OOB,
    Error,
    __version__,
    error_perm,
    error_proto,
    error_reply,
    error_temp,
    parse150,
    parse227,
    parse229,
    parse257,
)
from ._cli import test
from ._helpers import ftpcp, print_line
from ._rftplib import VerificationError
from ._transfers import TransferResult
from . import _signatures
from . import _transfers

__all__ = [
    "FTP",
    "error_reply",
    "error_temp",
    "error_perm",
    "error_proto",
    "all_errors",
]
if ssl is not None:
    __all__.append("FTP_TLS")

_GLOBAL_DEFAULT_TIMEOUT = socket._GLOBAL_DEFAULT_TIMEOUT
# ftplib's private names, kept for code that reads them.
_SSLSocket = ssl.SSLSocket if ssl is not None else None
_150_re = None
_227_re = None

if ssl is not None:
    all_errors = (Error, OSError, EOFError, ssl.SSLError)
else:  # pragma: no cover
    all_errors = (Error, OSError, EOFError)

_signatures.install(_ftplib, FTP, FTP_TLS)
_transfers.install(FTP)
