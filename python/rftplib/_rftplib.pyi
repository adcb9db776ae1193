"""Type stub for ``rftplib._rftplib``, the compiled core of rftplib.

The public names are re-exported by ``rftplib`` under the same names as in
CPython's ``ftplib``; the exceptions, ``FTP`` and ``FTP_TLS`` report
``__module__ == 'rftplib'``. ``Socket``, ``ControlFile`` and
``ListeningSocket`` are the native objects that ``FTP`` hands out where
ftplib would hand out sockets and socket files. Behaviour follows CPython
3.13's ftplib, including its quirks, unless a docstring says otherwise.

``python -m mypy.stubtest rftplib._rftplib`` checks this file against the
compiled module (``tests/test_stub.py``).
"""

import ftplib
import sys
from collections.abc import Callable, Iterable, Iterator
from io import BufferedReader, BufferedRWPair, BufferedWriter, IOBase, TextIOWrapper
from socket import AddressFamily, SocketIO, SocketKind
from ssl import SSLContext, SSLSocket
from typing import Any, ClassVar, Final, Literal, TypeVar, overload

from _typeshed import (
    ReadableBuffer,
    StrPath,
    SupportsRead,
    SupportsReadline,
    SupportsWrite,
    WriteableBuffer,
)
from typing_extensions import Self, TypeAlias, final

from ._transfers import TransferResult

_T = TypeVar("_T")

# FTP's instances carry a __dict__ and __weakref__ slot of their own. From
# Python 3.12 that alone makes it a disjoint base (PEP 800): `class C(FTP, int)`
# raises "instance lay-out conflict"; before 3.12 CPython allowed it.
if sys.version_info >= (3, 12):
    from typing_extensions import disjoint_base as _disjoint_base_from_312
else:
    def _disjoint_base_from_312(cls: _T) -> _T:
        """No-op: before Python 3.12 the class is not a disjoint base."""

# What getsockname()/getpeername()/accept() give: (host, port) for IPv4,
# (host, port, flowinfo, scope_id) for IPv6, as for socket.socket.
_Address: TypeAlias = tuple[Any, ...]

__all__ = [
    "B_CRLF",
    "CRLF",
    "FTP",
    "FTP_PORT",
    "FTP_TLS",
    "MAXLINE",
    "MSG_OOB",
    "ControlFile",
    "Entry",
    "Error",
    "ListeningSocket",
    "MirrorResult",
    "Socket",
    "VerificationError",
    "_Login",
    "__version__",
    "_choose_hash",
    "_download",
    "_FetchCancel",
    "_fetch_files",
    "_mlst_entry",
    "_parse_feat",
    "_parse_hash_reply",
    "_parse_listing",
    "_mirror_run",
    "_parse_mlsd_line",
    "_read_listing",
    "_upload",
    "error_perm",
    "error_proto",
    "error_reply",
    "error_temp",
    "parse150",
    "parse227",
    "parse229",
    "parse257",
]

__version__: Final[str]
FTP_PORT: Final = 21
MAXLINE: Final = 8192
MSG_OOB: Final = 1
CRLF: Final = "\r\n"
B_CRLF: Final = b"\r\n"

# The exceptions also derive from the standard library's, so an
# ``except ftplib.error_perm`` clause catches rftplib's error_perm too.

class Error(ftplib.Error):
    """Base class of the four FTP errors below; not itself in ``rftplib.__all__``."""

class error_reply(Error, ftplib.error_reply):
    """An unexpected reply: 1xx or 3xx where 2xx was needed, and similar."""

class error_temp(Error, ftplib.error_temp):
    """A 4xx reply (temporary failure). The argument is the full reply text."""

class error_perm(Error, ftplib.error_perm):
    """A 5xx reply (permanent failure). The argument is the full reply text."""

class error_proto(Error, ftplib.error_proto):
    """A reply whose first character is not 1-5, or a malformed 227/229 reply."""

class VerificationError(Error):
    """A whole-file transfer (``download``/``upload``) completed, but its size
    or checksum is not what the server said. Nothing is left at the target
    (a download's ``.part`` is removed too: its bytes are wrong).

    In ``all_errors``, through ``Error``.
    """

def parse150(resp: str) -> int | None:
    """Return the transfer size announced by a '150 ... (N bytes)' reply, or None.

    Raises error_reply if *resp* does not start with '150'.
    """

def parse227(resp: str) -> tuple[str, int]:
    """Return ``(host, port)`` from a '227' (PASV) reply.

    Raises error_reply if *resp* does not start with '227', error_proto if it
    holds no 'h1,h2,h3,h4,p1,p2' group.
    """

def parse229(resp: str, peer: _Address) -> tuple[str, int]:
    """Return ``(peer[0], port)`` from a '229' (EPSV) reply.

    The host comes from *peer*, the control connection's peer address. Raises
    error_reply if *resp* does not start with '229', error_proto if the
    ``(|||port|)`` part is malformed, ValueError if the port is not a number.
    """

def parse257(resp: str) -> str:
    """Return the quoted directory name from a '257' (MKD/PWD) reply.

    Doubled quotes become one; returns '' if the reply has no quoted name.
    Raises error_reply if *resp* does not start with '257'.
    """

def _parse_mlsd_line(line: str) -> tuple[str, dict[str, str]]:
    """Split one MLSD line into ``(name, facts)`` exactly as ftplib's ``mlsd`` does.

    Fact names are lowercased; the name is everything after the first space.
    """

def _parse_feat(reply: str) -> list[tuple[str, str]]:
    """The features of a FEAT reply, ``[(NAME, parameters), ...]`` in the server's order."""

def _choose_hash(
    features: list[tuple[str, str]], wanted: str | None = None
) -> tuple[str, str, str | None] | None:
    """How to ask for a hash: ``(command, algorithm, opts_hash_argument)``, or None."""

def _parse_hash_reply(reply: str, algorithm_name: str) -> str | None:
    """The lower-case hex digest in a HASH or X-command reply, or None."""

_Progress: TypeAlias = Callable[[int, int | None], object]
_Reported: TypeAlias = tuple[int, int, int, int, tuple[str, str] | None, int | None]

def _download(
    ftp: FTP,
    remote: str,
    target: str | None,
    fileobj: Any,
    resume: bool,
    connections: int,
    verify: bool,
    progress: _Progress | None,
    retries: int,
    rate_limit: float | None,
    preserve_mtime: bool,
    blocksize: int,
    features: list[tuple[str, str]] | None,
) -> tuple[int, int, int, int, tuple[str, str] | None, int | None, list[tuple[str, str]] | None]:
    """The engine of ``FTP.download``: ``(bytes, size, resumed_from, connections, checksum, mtime,
    features)``; *features* None: FEAT is asked with the first commands and returned last."""

def _upload(
    ftp: FTP,
    remote: str,
    path: str | None,
    fileobj: Any,
    resume: bool,
    atomic: bool,
    verify: bool,
    progress: _Progress | None,
    retries: int,
    rate_limit: float | None,
    preserve_mtime: bool,
    blocksize: int,
    features: list[tuple[str, str]],
) -> _Reported:
    """The engine of ``FTP.upload``: as ``_download``."""

@final
class _Login:
    """The credentials of the last ``login()``, opaque to Python (used to open
    sibling sessions and to log in again after a reconnect)."""

@final
class Socket:
    """A connected TCP socket owned by the Rust engine.

    It is ``FTP.sock`` (the control connection) and every data connection that
    ``FTP.transfercmd``/``ntransfercmd`` or ``ListeningSocket.accept`` returns,
    standing in for the ``socket.socket`` (or ``ssl.SSLSocket``) that ftplib
    uses, with the parts of that API FTP code calls. Blocking calls release
    the GIL. It cannot be created or subclassed from Python.
    """

    _io_refs: int
    """Number of open ``makefile`` streams; the socket really closes when it drops to 0."""

    # Read-only, and not type[Self] as object.__class__ is: hence the ignores.
    @property  # type: ignore[misc]
    def __class__(self) -> type[Socket] | type[SSLSocket]:  # type: ignore[override]
        """``ssl.SSLSocket`` once TLS was started on the connection, else ``Socket``.

        So that ``isinstance(sock, ssl.SSLSocket)`` checks written for ftplib keep
        working; ``type(sock)`` is always ``Socket``.
        """

    @property
    def family(self) -> AddressFamily:
        """The address family of the connection (AF_INET or AF_INET6)."""

    @property
    def type(self) -> SocketKind:
        """Always ``socket.SOCK_STREAM``."""

    @property
    def proto(self) -> int:
        """Always ``IPPROTO_TCP``."""

    @property
    def session_reused(self) -> bool | None:
        """Whether the TLS handshake resumed an earlier session, or None without TLS.

        For a data connection the session resumed is the control connection's.
        """

    def __enter__(self) -> Self:
        """Return self."""

    def __exit__(self, *_args: object) -> None:
        """Close the socket (as ``close()``)."""

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        """Receive at most *bufsize* bytes; ``b''`` means the peer closed the connection.

        *flags* is accepted and ignored.
        """

    def recv_into(
        self, buffer: WriteableBuffer, nbytes: int = 0, flags: int = 0
    ) -> int:
        """Receive into *buffer* (at most *nbytes* bytes, 0 meaning its length); return the count.

        *flags* is accepted and ignored.
        """

    def send(self, data: ReadableBuffer, flags: int = 0) -> int:
        """Send some of *data* and return the number of bytes sent.

        With ``MSG_OOB`` in *flags* the data is sent as urgent data.
        """

    def sendall(self, data: ReadableBuffer, flags: int = 0) -> None:
        """Send all of *data*; *flags* as for ``send`` (``FTP.abort`` uses MSG_OOB)."""

    @overload
    def makefile(
        self,
        mode: Literal[
            "b", "rb", "br", "wb", "bw", "rwb", "rbw", "wrb", "wbr", "brw", "bwr"
        ],
        buffering: Literal[0],
        *,
        encoding: str | None = None,
        errors: str | None = None,
        newline: str | None = None,
    ) -> SocketIO:
        """Return an unbuffered binary stream over the socket."""

    @overload
    def makefile(
        self,
        mode: Literal["rwb", "rbw", "wrb", "wbr", "brw", "bwr"],
        buffering: Literal[-1, 1] | None = None,
        *,
        encoding: str | None = None,
        errors: str | None = None,
        newline: str | None = None,
    ) -> BufferedRWPair:
        """Return a buffered binary stream reading from and writing to the socket."""

    @overload
    def makefile(
        self,
        mode: Literal["rb", "br"],
        buffering: Literal[-1, 1] | None = None,
        *,
        encoding: str | None = None,
        errors: str | None = None,
        newline: str | None = None,
    ) -> BufferedReader:
        """Return a buffered binary stream reading from the socket."""

    @overload
    def makefile(
        self,
        mode: Literal["wb", "bw"],
        buffering: Literal[-1, 1] | None = None,
        *,
        encoding: str | None = None,
        errors: str | None = None,
        newline: str | None = None,
    ) -> BufferedWriter:
        """Return a buffered binary stream writing to the socket."""

    @overload
    def makefile(
        self,
        mode: Literal[
            "b", "rb", "br", "wb", "bw", "rwb", "rbw", "wrb", "wbr", "brw", "bwr"
        ],
        buffering: int,
        *,
        encoding: str | None = None,
        errors: str | None = None,
        newline: str | None = None,
    ) -> IOBase:
        """Return a binary stream over the socket."""

    @overload
    def makefile(
        self,
        mode: Literal["r", "w", "rw", "wr", ""] = "r",
        buffering: int | None = None,
        *,
        encoding: str | None = None,
        errors: str | None = None,
        newline: str | None = None,
    ) -> TextIOWrapper:
        """Return a file object reading from or writing to the connection.

        Same arguments and result as ``socket.socket.makefile``: text modes
        read with universal newlines, and the stream keeps the connection open
        until it is closed, even if the connection's ``close()`` came first.
        """

    def _decref_socketios(self) -> None:
        """Called by each ``makefile`` stream as it closes (see ``rftplib._sockfile``)."""

    def close(self) -> None:
        """Close the socket, or only mark it closed while ``makefile`` streams are open.

        Safe to call more than once.
        """

    def shutdown(self, how: int) -> None:
        """Shut down reading, writing or both (``socket.SHUT_RD``/``SHUT_WR``/``SHUT_RDWR``)."""

    def fileno(self) -> int:
        """Return the socket's file descriptor, or -1 once closed."""

    def detach(self) -> int:
        """Close the socket object without closing its descriptor, and return the descriptor."""

    def getsockopt(self, level: int, optname: int, buflen: None = None) -> int:
        """Return the value of an integer socket option.

        A *buflen* other than None raises NotImplementedError.
        """

    def getsockname(self) -> _Address:
        """Return the local address, as ``socket.socket.getsockname``."""

    def getpeername(self) -> _Address:
        """Return the peer's address, as ``socket.socket.getpeername``."""

    def gettimeout(self) -> float | None:
        """Return the timeout in seconds, or None if blocking."""

    def settimeout(self, value: float | None) -> None:
        """Set the timeout in seconds for blocking operations; None blocks forever."""

    def setblocking(self, flag: bool) -> None:
        """Blocking (timeout None) if *flag* is true, else non-blocking (timeout 0.0)."""

    def unwrap(self) -> Socket:
        """Shut TLS down (close_notify both ways) and return this same object, now in cleartext.

        Used by ``FTP_TLS.ccc`` and by ftplib's ``retr*``/``stor*`` before
        closing a TLS data connection. Raises ValueError without TLS.
        """

    def version(self) -> str | None:
        """Return the negotiated TLS version, e.g. 'TLSv1.3', or None without TLS."""

    def cipher(self) -> tuple[str, str, int] | None:
        """Return ``(name, protocol, secret_bits)`` of the cipher in use, or None without TLS."""

@final
class ControlFile:
    """``FTP.file``: the control connection read as text, line by line.

    Lines are decoded with the FTP object's ``encoding`` and read with
    universal newlines, like ``sock.makefile('r', encoding=...)``. It cannot
    be created or subclassed from Python.
    """

    @property
    def closed(self) -> bool:
        """Whether ``close()`` was called."""

    def readline(self, size: int = ...) -> str:
        """Return one line, its line end included, of at most *size* characters if *size* >= 0.

        *size* defaults to -1 (no limit). Returns '' at end of file; raises
        ValueError once closed.
        """

    def close(self) -> None:
        """Mark the file closed; the connection itself stays open."""

@final
class ListeningSocket:
    """The listening socket of an active-mode transfer, returned by ``FTP.makeport``.

    It cannot be created or subclassed from Python.
    """

    @property
    def family(self) -> AddressFamily:
        """The address family of the socket (AF_INET or AF_INET6)."""

    def __enter__(self) -> Self:
        """Return self."""

    def __exit__(self, *_args: object) -> None:
        """Close the socket."""

    def accept(self) -> tuple[Socket, _Address]:
        """Wait for the server's data connection; return ``(connection, address)``."""

    def getsockname(self) -> _Address:
        """Return the address the socket listens on."""

    def gettimeout(self) -> float | None:
        """Return the timeout in seconds, or None if blocking."""

    def settimeout(self, value: float | None) -> None:
        """Set the timeout in seconds for ``accept``; None blocks forever."""

    def fileno(self) -> int:
        """Return the socket's file descriptor, or -1 once closed."""

    def close(self) -> None:
        """Stop listening. Safe to call more than once."""

@_disjoint_base_from_312
class FTP:
    """An FTP client, a drop-in replacement for ``ftplib.FTP``.

    ``FTP(host)`` connects, ``FTP(host, user, passwd)`` also logs in. Every
    attribute ftplib documents or its users touch exists and may be assigned.
    """

    debugging: int
    host: str
    port: int
    maxline: int
    sock: Socket | None
    file: ControlFile | None
    welcome: str | None
    passiveserver: bool | int
    trust_server_pasv_ipv4_address: bool
    encoding: str
    source_address: tuple[str, int] | None
    timeout: float | None
    af: int
    lastresp: str

    def __init__(
        self,
        host: str = "",
        user: str = "",
        passwd: str = "",
        acct: str = "",
        timeout: float | None = ...,
        source_address: tuple[str, int] | None = None,
        *,
        encoding: str = "utf-8",
    ) -> None:
        """Store the settings, then ``connect(host)`` if *host* is given and,
        if *user* is given too, ``login(user, passwd, acct)``.

        The default *timeout* is ``socket._GLOBAL_DEFAULT_TIMEOUT``, meaning
        ``socket.getdefaulttimeout()`` at connect time; None means blocking.
        """

    def __enter__(self) -> Self:
        """Return self."""

    def __exit__(self, *_args: object) -> None:
        """``quit()`` if connected, ignoring OSError/EOFError, then ``close()``.

        An FTP error from QUIT propagates, after the connection is closed.
        """

    def connect(
        self,
        host: str = "",
        port: int = 0,
        timeout: float | None = -999,
        source_address: tuple[str, int] | None = None,
    ) -> str:
        """Connect to *host*:*port* and return the welcome reply.

        Empty or zero arguments keep the current values; a timeout of 0 raises
        ValueError. A 4xx/5xx greeting raises and leaves the socket open.
        """

    def getwelcome(self) -> str | None:
        """Return the server's welcome reply (printed too when debugging)."""

    def set_debuglevel(self, level: int) -> None:
        """Set the debug level: 1 prints commands and replies, 2 every line, 3 every data line."""

    debug = set_debuglevel

    def set_pasv(self, val: bool | int) -> None:
        """Use passive mode (PASV/EPSV) if *val* is true, else active mode (PORT/EPRT)."""

    def sanitize(self, s: str) -> str:
        """Return ``repr(s)`` with the password of a 'PASS ' command masked by '*'."""

    def putline(self, line: str) -> None:
        """Send *line* plus CRLF; a CR or LF inside *line* raises ValueError."""

    def putcmd(self, line: str) -> None:
        """Send a command line (printed when debugging)."""

    def getline(self) -> str:
        """Read one control line without its line end.

        Raises EOFError if the connection closed, Error if it exceeds maxline.
        """

    def getmultiline(self) -> str:
        """Read a whole reply; the lines of a multi-line reply are joined with '\\n'."""

    def getresp(self) -> str:
        """Read a reply; return it if 1xx-3xx, raise error_temp/error_perm/error_proto otherwise."""

    def voidresp(self) -> str:
        """Read a reply and return it; anything but 2xx raises."""

    def abort(self) -> str:
        """Send ABOR (as urgent data) and return the reply, which must be 225, 226 or 426."""

    def sendcmd(self, cmd: str) -> str:
        """Send a command and return the reply."""

    def voidcmd(self, cmd: str) -> str:
        """Send a command and return the reply; anything but 2xx raises."""

    def sendport(self, host: str, port: int) -> str:
        """Send a PORT command for *host*:*port* and return the reply."""

    def sendeprt(self, host: str, port: int) -> str:
        """Send an EPRT command for *host*:*port* and return the reply."""

    def makeport(self) -> ListeningSocket:
        """Listen on a new port, announce it with PORT (EPRT on IPv6) and return the socket."""

    def makepasv(self) -> tuple[str, int]:
        """Send PASV (EPSV on IPv6) and return the data address to connect to.

        With PASV the host is the control connection's peer, not the one in
        the reply, unless ``trust_server_pasv_ipv4_address`` is true.
        """

    def ntransfercmd(
        self, cmd: str, rest: int | str | None = None
    ) -> tuple[Socket, int | None]:
        """Open a data connection, send REST *rest* if given, then *cmd*.

        Returns the connection and the size from a 150 reply, or None.
        """

    def transfercmd(self, cmd: str, rest: int | str | None = None) -> Socket:
        """Like ``ntransfercmd`` but return only the data connection."""

    def login(self, user: str = "", passwd: str = "", acct: str = "") -> str:
        """Log in with USER, PASS and, if asked for, ACCT; return the final reply.

        The default user is 'anonymous', whose default password is 'anonymous@'.
        """

    def retrbinary(
        self,
        cmd: str,
        callback: Callable[[bytes], object],
        blocksize: int = 8192,
        rest: int | str | None = None,
    ) -> str:
        """Retrieve in binary mode, calling *callback* with each block of at most *blocksize* bytes.

        Returns the final reply.
        """

    def retrlines(
        self, cmd: str, callback: Callable[[str], object] | None = None
    ) -> str:
        """Retrieve in ASCII mode, calling *callback* (default: print) with each line.

        Lines are decoded with ``encoding`` and stripped of their line end.
        Returns the final reply.
        """

    def storbinary(
        self,
        cmd: str,
        fp: SupportsRead[bytes],
        blocksize: int = 8192,
        callback: Callable[[bytes], object] | None = None,
        rest: int | str | None = None,
    ) -> str:
        """Store the binary file *fp*, read *blocksize* bytes at a time; return the final reply."""

    def storlines(
        self,
        cmd: str,
        fp: SupportsReadline[bytes],
        callback: Callable[[bytes], object] | None = None,
    ) -> str:
        """Store the lines of binary file *fp* in ASCII mode, each ended by CRLF; return the final reply."""

    def acct(self, password: str) -> str:
        """Send an ACCT command and return the reply."""

    def nlst(self, *args: str) -> list[str]:
        """Return the names listed by NLST *args*."""

    def dir(self, *args: str | Callable[[str], object]) -> None:
        """Print, or pass to the callback given as last argument, the lines of LIST *args*."""

    def mlsd(
        self, path: str = "", facts: Iterable[str] = []
    ) -> Iterator[tuple[str, dict[str, str]]]:
        """Yield ``(name, facts)`` for each entry of an MLSD listing.

        A generator: nothing is sent until the first ``next()``. Fact names
        are lowercased. If *facts* is given, OPTS MLST requests those facts.
        """

    def rename(self, fromname: str, toname: str) -> str:
        """Rename *fromname* to *toname* (RNFR, RNTO) and return the reply."""

    def delete(self, filename: str) -> str:
        """Delete *filename*; return the reply, which must be 250 or 200."""

    def cwd(self, dirname: str) -> str:
        """Change directory ('..' tries CDUP first) and return the reply."""

    def size(self, filename: str) -> int | None:
        """Return the size of *filename* from a 213 reply, or None for another non-error reply."""

    def mkd(self, dirname: str) -> str:
        """Create a directory and return its full name ('' if the reply is not 257)."""

    def rmd(self, dirname: str) -> str:
        """Remove a directory and return the reply."""

    def pwd(self) -> str:
        """Return the current directory ('' if the reply is not 257)."""

    def quit(self) -> str:
        """Send QUIT, close the connection and return the reply.

        If QUIT raises, the connection is left open.
        """

    def close(self) -> None:
        """Close the connection without sending QUIT. Safe to call more than once."""

    # Parsed listings (rftplib/_listing.py), beyond ftplib.
    def scandir(self, path: str = "", *, mlsd: bool | None = None) -> list[Entry]:
        """List directory *path* (default: the current one) as :class:`Entry` objects.

        Uses MLSD when the server lists MLST in FEAT, LIST otherwise;
        ``mlsd=True``/``False`` forces one. The listing is read and parsed in
        Rust with the GIL released. LIST output in Unix ``ls -l``,
        Windows/IIS and EPLF styles is understood; any other line becomes an
        entry of type ``"other"`` with the line in ``raw``. ``.`` and ``..``
        are left out. Sends TYPE A first, as ``retrlines`` does.
        """

    def stat(self, path: str, *, mlst: bool | None = None) -> Entry:
        """Return the :class:`Entry` for *path*.

        From MLST when the server has it (``mlst=False`` skips it), else SIZE
        and MDTM for a file (after TYPE I), else the listing of the parent
        directory. A missing path raises ``error_perm`` with the server's
        reply (550).
        """

    def walk(
        self,
        top: str = "",
        *,
        topdown: bool = True,
        onerror: Callable[[Error], object] | None = None,
        mlsd: bool | None = None,
    ) -> Iterator[tuple[str, list[str], list[str]]]:
        """Walk the tree under *top* like :func:`os.walk`: ``(dirpath, dirnames, filenames)``.

        Symbolic links are listed in *filenames* and never followed. With
        ``topdown=True``, pruning *dirnames* in place limits the walk. A
        directory the server refuses to list (a 4xx/5xx reply) is skipped
        after ``onerror(exc)``; connection failures raise.
        """

    # -- Additions beyond ftplib (rftplib._transfers) ------------------------

    def feat(self) -> dict[str, str]:
        """Send FEAT and return the features as ``{NAME: parameters}``.

        Names are upper-cased (``{"SIZE": "", "REST": "STREAM", "HASH":
        "SHA-256*;MD5"}``). The answer is cached for the control connection:
        a new ``connect()`` asks again. A server without FEAT raises error_perm.
        """

    def checksum(self, path: str, algorithm: str | None = None) -> tuple[str, str]:
        """The server's hash of the remote file *path*: ``(algorithm, hexdigest)``.

        Uses HASH (selecting the algorithm with ``OPTS HASH``) or the older
        XSHA256/XSHA1/XMD5/XCRC, as FEAT announces them; the strongest offered
        is used unless *algorithm* ("SHA-256", "SHA-1", "MD5" or "CRC32") is
        given. Raises error_perm when the server cannot hash with it, and
        ValueError for an unknown algorithm name.
        """

    def download(
        self,
        remote: str,
        local: StrPath | SupportsWrite[bytes] | None = None,
        *,
        resume: bool = True,
        connections: int = 1,
        verify: bool = True,
        progress: Callable[[int, int | None], object] | bool | None = None,
        retries: int = 3,
        rate_limit: float | None = None,
        preserve_mtime: bool = False,
        blocksize: int | None = None,
    ) -> TransferResult:
        """Download the remote file *remote*, in native code with the GIL released.

        *local* is a path (a directory keeps the remote base name; default: the
        remote base name in the current directory) or a writable binary file
        object (then no ``.part``, no resume, one connection). The bytes go to
        ``<local>.part``, renamed onto *local* only once the transfer completed
        and was verified: a failed or interrupted download leaves the ``.part``,
        never a truncated target, and *resume* continues it with REST.

        *verify*: the byte count must match SIZE (or MLST, or the 150 reply), and
        when FEAT offers HASH (SHA-256/SHA-1/MD5/CRC32) or XSHA256/XSHA1/XMD5/XCRC
        the server's hash must match the one computed while the bytes stream;
        a mismatch raises VerificationError and leaves nothing at *local*.

        *connections* > 1 splits the file into ranges fetched over that many
        sessions (logged in with ``login()``'s credentials, TLS and PROT as this
        one, same directory) and written in place; fewer are used when the
        server refuses logins (421/530), one when it lacks SIZE or REST or when
        ``login()`` was not used. An interrupted ranged download records its
        holes in ``<local>.part.ranges`` so that the next call resumes them.

        *retries*: transient failures (timeouts, resets, EOF, 4xx) reconnect
        and continue from the last byte after 1 s, 2 s, 4 s... (capped at 30 s);
        5xx replies raise at once. *progress* is called as
        ``progress(bytes_done, bytes_total_or_None)`` in the calling thread at
        most ~10 times a second and once at the end; an exception it raises
        stops the transfer (the ``.part`` is kept) and propagates.
        ``progress=True`` draws a bar on stderr when it is a terminal.
        *rate_limit* caps bytes per second over all connections.
        *preserve_mtime* gives *local* the remote modification time (MLST or
        MDTM). *blocksize* is the largest read (default 1 MiB). Ctrl-C stops
        within about 100 ms with KeyboardInterrupt, keeping the ``.part``.
        """

    def upload(
        self,
        local: StrPath | SupportsRead[bytes],
        remote: str | None = None,
        *,
        resume: bool = False,
        atomic: bool = False,
        verify: bool = True,
        progress: Callable[[int, int | None], object] | bool | None = None,
        retries: int = 3,
        rate_limit: float | None = None,
        preserve_mtime: bool = False,
        blocksize: int | None = None,
    ) -> TransferResult:
        """Upload *local* (a path, or a readable binary file object) to *remote*
        (default: the local base name), in native code with the GIL released.

        *resume*: SIZE of the remote file, then REST+STOR from there (APPE where
        REST before STOR is refused); needs a path. *atomic*: STOR to a hidden
        temporary name in the same remote directory, then RNFR/RNTO onto
        *remote*, so that readers never see a partial file. *verify*: SIZE
        must match, and the server's hash where FEAT offers one (else
        VerificationError). *preserve_mtime*: MFMT (or SITE UTIME) where the
        server supports it. *retries* (paths only: continue from what the
        server kept), *progress*, *rate_limit* and *blocksize* as for
        ``download``.
        """

    # -- Additions beyond ftplib (rftplib._mirror) ---------------------------

    def mirror(
        self,
        source: StrPath,
        target: StrPath,
        *,
        upload: bool = False,
        connections: int = 4,
        delete: bool = False,
        newer_only: bool = True,
        include: str | Iterable[str] | None = None,
        exclude: str | Iterable[str] | None = None,
        dry_run: bool = False,
        verify: bool = True,
        progress: Callable[[str, int, int, int, int], object] | bool | None = None,
        retries: int = 3,
        fail_fast: bool = False,
    ) -> MirrorResult:
        """Copy the remote directory *source* into the local directory *target*
        (``upload=True``: the local *source* to the remote *target*), like lftp's
        ``mirror`` (``mirror -R``), over a pool of up to *connections* sessions.

        Files that already match (same size, and the same time within the
        listings' precision, or a newer target copy with *newer_only*) are
        skipped, so a second run transfers nothing. *delete* removes what the
        source no longer has; *include*/*exclude* are glob patterns on relative
        paths (``*``, ``?``, ``[...]``, ``**``; a pattern without ``/`` matches
        the name at any depth); *dry_run* changes nothing. Each file lands
        atomically via a temporary name, resumes a ``.part`` left by an
        interrupted run, and is retried *retries* times after transient faults.
        *progress*: ``True`` for a progress line on a terminal, or
        ``progress(path, bytes_done, bytes_total, files_done, files_total)``.
        A file that still fails is listed in ``MirrorResult.failed`` while the
        rest complete; with *fail_fast* the first failure raises. The pool
        shrinks when the server refuses extra logins (421/530).
        """

class FTP_TLS(FTP):
    """An FTP client with explicit TLS (RFC 4217), a drop-in for ``ftplib.FTP_TLS``.

    ``login()`` secures the control connection first; ``prot_p()`` secures
    the data connections too. The default context does not verify certificates,
    as ftplib's does not. Every data connection resumes the control
    connection's TLS session; ``implicit=True`` starts TLS with the connection
    (implicit FTPS, port 990). ``client_certfile``/``client_keyfile`` name a
    client certificate chain and its key (PEM files).
    """

    ssl_version: int
    context: SSLContext
    _prot_p: bool

    if sys.version_info >= (3, 12):
        def __init__(
            self,
            host: str = "",
            user: str = "",
            passwd: str = "",
            acct: str = "",
            *,
            context: SSLContext | None = None,
            timeout: float | None = ...,
            source_address: tuple[str, int] | None = None,
            encoding: str = "utf-8",
            implicit: bool = False,
            client_certfile: StrPath | None = None,
            client_keyfile: StrPath | None = None,
        ) -> None:
            """Store *context* (default: ``ssl._create_stdlib_context()``) and the
            client certificate, then as ``FTP.__init__``.

            With *implicit* the default port is 990.
            """
    else:
        keyfile: str | None
        certfile: str | None
        def __init__(
            self,
            host: str = "",
            user: str = "",
            passwd: str = "",
            acct: str = "",
            keyfile: str | None = None,
            certfile: str | None = None,
            context: SSLContext | None = None,
            timeout: float | None = ...,
            source_address: tuple[str, int] | None = None,
            *,
            encoding: str = "utf-8",
            implicit: bool = False,
            client_certfile: StrPath | None = None,
            client_keyfile: StrPath | None = None,
        ) -> None:
            """Store *context* (default: ``ssl._create_stdlib_context()``) and the
            client certificate, then as ``FTP.__init__``.

            With *implicit* the default port is 990. *keyfile*/*certfile* are
            ftplib's deprecated way to give a client certificate (they warn, and
            exclude *context*); ``client_certfile``/``client_keyfile`` take
            precedence over them.
            """

    def connect(
        self,
        host: str = "",
        port: int = 0,
        timeout: float | None = -999,
        source_address: tuple[str, int] | None = None,
    ) -> str:
        """As ``FTP.connect``; with implicit FTPS, TLS starts before the greeting."""

    def login(
        self, user: str = "", passwd: str = "", acct: str = "", secure: bool = True
    ) -> str:
        """Call ``auth()`` first unless *secure* is false or TLS is already on, then log in."""

    def auth(self) -> str:
        """Send AUTH TLS and secure the control connection; return the reply.

        Raises ValueError if TLS is already in use.
        """

    def ccc(self) -> str:
        """Send CCC and switch the control connection back to cleartext; return the reply.

        Raises ValueError if TLS is not in use.
        """

    def prot_p(self) -> str:
        """Send PBSZ 0 and PROT P so that data connections use TLS; return the PROT reply."""

    def prot_c(self) -> str:
        """Send PROT C so that data connections are cleartext; return the reply."""

    def ntransfercmd(
        self, cmd: str, rest: int | str | None = None
    ) -> tuple[Socket, int | None]:
        """As ``FTP.ntransfercmd``, then a TLS handshake on the data connection after ``prot_p()``.

        The handshake resumes the control connection's TLS session.
        """

    def abort(self) -> str:
        """As ``FTP.abort``, but ABOR is sent as ordinary data (TLS has no urgent data)."""

@final
class Entry:
    """One directory entry from ``FTP.scandir`` or ``FTP.stat``.

    Immutable; equal when every field is equal, and hashable. ``modified`` is
    given as an aware datetime (a naive one is taken as UTC) or as Unix
    seconds.
    """

    def __new__(
        cls,
        name: str,
        type: Literal["file", "dir", "link", "other"] = "file",
        *,
        path: str | None = None,
        size: int | None = None,
        modified: Any = None,
        permissions: str | None = None,
        owner: str | None = None,
        group: str | None = None,
        target: str | None = None,
        facts: dict[str, str] | None = None,
        raw: str | None = None,
    ) -> Self: ...
    @property
    def name(self) -> str:
        """The name within its directory."""

    @property
    def path(self) -> str:
        """The listed directory joined with the name (for ``stat``, the path asked for)."""

    @property
    def type(self) -> Literal["file", "dir", "link", "other"]:
        """``"file"``, ``"dir"``, ``"link"`` or ``"other"`` (devices, fifos, unknown lines)."""

    @property
    def size(self) -> int | None:
        """The size in bytes, or None when the server does not say."""

    @property
    def modified(self) -> Any:
        """The modification time as an aware UTC ``datetime``, or None.

        From LIST it is precise to the minute (recent entries) or the day; a
        year-less date is the most recent such date not in the future (one
        day of slack for the server's clock). Servers that list local time
        are read as UTC.
        """

    @property
    def permissions(self) -> str | None:
        """``ls -l`` style mode, type character included (``-rw-r--r--``), or None."""

    @property
    def owner(self) -> str | None:
        """The owner as listed (a name or a number), or None."""

    @property
    def group(self) -> str | None:
        """The group as listed, or None."""

    @property
    def target(self) -> str | None:
        """Where a symbolic link points, when the server says."""

    @property
    def facts(self) -> dict[str, str]:
        """The MLSD/MLST facts (names lowercased) as a new dict; empty for LIST."""

    @property
    def raw(self) -> str | None:
        """The LIST line the entry came from, or None for MLSD."""

    def _with_path(self, path: str) -> Entry:
        """The same entry under another path."""

    def __getnewargs_ex__(self) -> tuple[tuple[str, str], dict[str, Any]]:
        """The constructor's arguments, for pickle and copy."""

    def __eq__(self, value: object, /) -> bool: ...
    def __ne__(self, value: object, /) -> bool: ...
    def __hash__(self) -> int: ...

def _read_listing(
    conn: Any, mlsd: bool, dirpath: str, encoding: str, now: int | None = None
) -> list[Entry]:
    """Read data connection *conn* to its end, shut its TLS down, and parse the listing."""

def _parse_listing(
    data: str | ReadableBuffer, mlsd: bool = False, dirpath: str = "", now: int | None = None
) -> list[Entry]:
    """Parse a whole LIST (or, with *mlsd*, MLSD) reply."""

def _mlst_entry(line: str, path: str) -> Entry | None:
    """The entry of one MLST fact line (without its leading space), under *path*."""

# -- mirror (rftplib._mirror) --------------------------------------------------

@final
class MirrorResult:
    """What ``FTP.mirror()`` did; paths are relative to the two roots."""

    def __new__(
        cls,
        transferred: list[str] = ...,
        skipped: list[str] = ...,
        deleted: list[str] = ...,
        failed: list[tuple[str, str]] = ...,
        bytes: int = 0,
        seconds: float = 0.0,
    ) -> Self: ...
    @property
    def transferred(self) -> list[str]:
        """Files copied by this run."""

    @property
    def skipped(self) -> list[str]:
        """Files left alone: already matching, or not regular files (links)."""

    @property
    def deleted(self) -> list[str]:
        """Target files and directories removed (``delete=True``), in the order removed."""

    @property
    def failed(self) -> list[tuple[str, str]]:
        """``(path, reason)`` for each file or directory that failed after its retries."""

    @property
    def bytes(self) -> int:
        """Bytes moved by this run (a resumed file counts what was still missing)."""

    @property
    def seconds(self) -> float:
        """How long the run took."""

    @property
    def ok(self) -> bool:
        """True when nothing failed."""

    def __eq__(self, other: object, /) -> bool: ...
    __hash__: ClassVar[None]  # type: ignore[assignment]

def _mirror_run(
    ftp: FTP,
    source: str,
    target: str,
    upload: bool,
    connections: int,
    delete: bool,
    newer_only: bool,
    include: list[str],
    exclude: list[str],
    dry_run: bool,
    verify: bool,
    progress: Callable[[str, int, int, int, int], object] | None,
    retries: int,
    fail_fast: bool,
    features: list[tuple[str, str]],
) -> MirrorResult:
    """The engine of ``FTP.mirror``, run with the GIL released."""

@final
class _FetchCancel:
    """A cancel flag shared by the batches of one fsspec ``get``."""
    def __init__(self) -> None: ...
    def cancel(self) -> None:
        """Every batch given this flag stops at its next step."""

def _fetch_files(
    ftp: FTP, jobs: list[tuple[str, str]], cancel: _FetchCancel | None = None
) -> tuple[int, BaseException | None, bool, bool]:
    """Fetches each (remote, local) of *jobs* in turn on *ftp* (plain FTP, TYPE I):
    ``(done, error, in_step, together_refused)``, run with the GIL released."""
