"""pyftpdlib handler mixins for the whole-file transfer tests: servers that
hash files (HASH, XSHA256, ...), and servers that lie about sizes or hashes.

Pass them to ``PyftpdlibThreaded(..., handler_mixins=(...))``.
"""

from __future__ import annotations

import hashlib
import zlib
from typing import ClassVar

_ALGOS = {
    "SHA-256": lambda: hashlib.sha256(),
    "SHA-1": lambda: hashlib.sha1(),
    "MD5": lambda: hashlib.md5(),
}


def _digest(path, algo):
    with open(path, "rb") as f:
        if algo == "CRC32":
            crc = 0
            while chunk := f.read(1 << 20):
                crc = zlib.crc32(chunk, crc)
            return f"{crc:08x}"
        h = _ALGOS[algo]()
        while chunk := f.read(1 << 20):
            h.update(chunk)
        return h.hexdigest()


def _cmd(help_text):
    return {"perm": "r", "auth": True, "arg": True, "help": help_text}


class HashMixin:
    """HASH (draft-bryan-ftpext-hash) with OPTS HASH, SHA-1 selected at first."""

    extra_proto_cmds: ClassVar[dict] = {"HASH": _cmd("Syntax: HASH <SP> file-name")}
    hash_algos = ("SHA-256", "SHA-1", "MD5", "CRC32")
    x_commands = ()
    selected = "SHA-1"
    tamper = False  # answer a wrong digest

    def ftp_FEAT(self, line):
        feats = ["MDTM", "REST STREAM", "SIZE", "MFMT", "UTF8", "EPSV"]
        if self.hash_algos:
            sel = getattr(self, "_selected", self.selected)
            feats.append(
                "HASH "
                + ";".join(a + ("*" if a == sel else "") for a in self.hash_algos)
            )
        feats += list(self.x_commands)
        self.push("211-Features:\r\n" + "".join(f" {f}\r\n" for f in feats))
        self.respond("211 End")

    def ftp_OPTS(self, line):
        cmd, _, arg = line.partition(" ")
        if cmd.upper() == "HASH":
            if not arg:
                self.respond("200 " + getattr(self, "_selected", self.selected))
            elif arg.upper() in self.hash_algos:
                self._selected = arg.upper()
                self.respond("200 " + self._selected)
            else:
                self.respond("501 Unknown algorithm")
            return
        super().ftp_OPTS(line)

    def _answer(self, path, algo, fmt):
        try:
            digest = _digest(path, algo)
        except OSError as e:
            self.respond(f"550 {e.strerror}.")
            return
        if self.tamper:
            digest = ("0" if digest[0] != "0" else "1") + digest[1:]
        self.respond(fmt.format(digest=digest, size=self.fs.getsize(path)))

    def ftp_HASH(self, path):
        algo = getattr(self, "_selected", self.selected)
        self._answer(
            path, algo, "213 " + algo + " 0-{size} {digest} " + self.fs.fs2ftp(path)
        )


class XHashMixin(HashMixin):
    """Only the older X commands."""

    extra_proto_cmds: ClassVar[dict] = {
        name: _cmd(f"Syntax: {name} <SP> file-name")
        for name in ("XSHA256", "XSHA1", "XMD5", "XCRC")
    }
    hash_algos = ()
    x_commands = ("XSHA1", "XMD5", "XCRC")

    def ftp_XSHA256(self, path):
        self._answer(path, "SHA-256", "250 {digest}")

    def ftp_XSHA1(self, path):
        self._answer(path, "SHA-1", "250 {digest}")

    def ftp_XMD5(self, path):
        self._answer(path, "MD5", "250 {digest}")

    def ftp_XCRC(self, path):
        self._answer(path, "CRC32", "250 {digest}")


class WrongHashMixin(HashMixin):
    """HASH answers a digest that does not match the file."""

    tamper = True


class LyingSizeMixin:
    """SIZE (and MLST) claim one byte more than the file has."""

    def ftp_SIZE(self, path):
        self.respond(f"213 {self.fs.getsize(path) + 1}")
