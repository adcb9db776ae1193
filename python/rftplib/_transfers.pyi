"""Types of rftplib's whole-file transfer additions (``FTP.download``/``upload``)."""

from typing import Any

class TransferResult:
    """What ``FTP.download()`` or ``FTP.upload()`` did.

    ``bytes`` counts the bytes moved by this call (resumed bytes excluded);
    ``resumed_from`` is the offset it started from; ``connections`` the
    number of sessions that carried data; ``checksum_algorithm`` and
    ``checksum`` the server's hash that was verified, or None when the server
    offers none (or ``verify=False``). ``seconds`` is the wall time of the call.
    """

    remote: str
    local: str | Any
    bytes: int
    seconds: float
    resumed_from: int
    connections: int
    checksum_algorithm: str | None
    checksum: str | None
    def __init__(
        self,
        remote: str,
        local: str | Any,
        bytes: int,
        seconds: float,
        resumed_from: int = 0,
        connections: int = 1,
        checksum_algorithm: str | None = None,
        checksum: str | None = None,
    ) -> None: ...

def feat(self: Any) -> dict[str, str]: ...
def checksum(self: Any, path: str, algorithm: str | None = None) -> tuple[str, str]: ...
def download(self: Any, remote: str, local: Any = None, **kwargs: Any) -> TransferResult: ...
def upload(self: Any, local: Any, remote: str | None = None, **kwargs: Any) -> TransferResult: ...
def install(cls: type) -> None:
    """Installs feat, checksum, download and upload on ``cls`` (``FTP``)."""
