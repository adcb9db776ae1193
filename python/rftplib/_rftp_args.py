"""``rftp``'s command line: the subcommands, their options and the help text."""

from __future__ import annotations

import argparse
import re
import textwrap

from . import __version__

__all__ = ["build_parser"]

EPILOG = """\
Examples:
  rftp ls -l ftp://ftp.example.org/pub/
  rftp get ftp://ftp.example.org/pub/image.iso          # resumable; -j 4 splits it
  rftp put report.pdf ftps://alice@example.org/inbox/   # asks for the password
  rftp mirror ftp://ftp.example.org/pub/docs docs       # a second run copies nothing
  rftp mirror -R --delete site ftps://alice@example.org/www

URLs:
  ftp://[user[:password]@]host[:port]/path   plain FTP (port 21)
  ftps://[user[:password]@]host[:port]/path  explicit FTPS: AUTH TLS, then PROT P
                                             (with --implicit: TLS from the first
                                             byte, port 990)
  The path is relative to the login directory, each /-separated segment
  percent-decoded (RFC 1738, as curl and urllib read it); %2F makes it
  absolute: ftp://host/%2Fetc/motd names /etc/motd. A trailing / names a
  directory.

Passwords, first found wins: the URL, the RFTP_PASSWORD environment
variable, ~/.netrc (machine/login/password), a prompt without echo when stdin
is a terminal. Without a user in the URL the login is ~/.netrc's for the host,
else anonymous. Passwords are masked in every message and in the -v dialogue;
on Linux rftp also overwrites a URL's password and RFTP_PASSWORD where `ps`
reads them, but only once it has started: prefer ~/.netrc or the prompt.

FTPS certificates are verified against the system's trusted CAs (as curl
does) and the host name is checked; --cafile FILE trusts FILE's CAs instead,
--insecure skips verification.

Exit status:
  0    success
  1    the server refused an operation (its reply is printed), or some files
       of a mirror failed
  2    usage error: bad option or URL, no password available
  3    connection failed or lost: network, timeout, TLS certificate
  4    local file error (reading or writing a file on this machine)
  5    login refused
  130  interrupted (Ctrl-C); partial downloads stay as FILE.part and are
       resumed by running the same command again
  141  stdout was closed before everything was written (rftp cat ... | head)
"""

SUBCOMMAND_EPILOG = "See `rftp --help` for URLs, passwords, FTPS and exit statuses."


# -- argument parsing ---------------------------------------------------------


def rate(text):
    """'500k', '10M', '1.5G', '2048' (bytes per second; k/M/G are 1024-based)."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d*)?)\s*([kKmMgG]?)(?:i?[bB])?(?:/s)?\s*", text)
    if not m:
        raise argparse.ArgumentTypeError(f"not a rate: {text!r} (say 500k, 10M, 2048)")
    scale = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[m.group(2).lower()]
    value = int(float(m.group(1)) * scale)
    if value <= 0:
        raise argparse.ArgumentTypeError("the rate must be positive")
    return value


def positive(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def nonnegative(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def build_parser():
    common = argparse.ArgumentParser(add_help=False)
    g = common.add_argument_group("connection and output")
    g.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="print the control dialogue on stderr, passwords masked "
        "(-vv: every line sent and received)",
    )
    g.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="no progress bars or summaries; errors only",
    )
    g.add_argument(
        "--implicit",
        action="store_true",
        help="implicit FTPS (ftps:// URLs only; default port 990)",
    )
    g.add_argument(
        "--insecure",
        action="store_true",
        help="FTPS: do not verify the server's certificate",
    )
    g.add_argument(
        "--cafile",
        metavar="FILE",
        help="FTPS: trust the CA certificates in FILE (PEM) instead of the system's",
    )
    g.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="network timeout (default 30)",
    )

    retries = argparse.ArgumentParser(add_help=False)
    retries.add_argument(
        "--retries",
        type=nonnegative,
        default=3,
        metavar="N",
        help="retry a failed transfer N times (default 3)",
    )
    transfer = argparse.ArgumentParser(add_help=False)
    t = transfer.add_argument_group("transfers")
    t.add_argument(
        "--resume",
        dest="resume",
        action="store_true",
        default=None,
        help="continue a partial transfer (get: the default, from the "
        "LOCAL.part an interrupted run left; put: append to the "
        "remote file)",
    )
    t.add_argument(
        "--no-resume", dest="resume", action="store_false", help="start over"
    )
    t.add_argument(
        "--rate-limit",
        type=rate,
        metavar="RATE",
        help="at most RATE bytes per second: 500k, 10M, 1G (1024-based)",
    )

    parser = argparse.ArgumentParser(
        prog="rftp",
        description="Copy files and directory trees to and from FTP and FTPS servers.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"rftp {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(name, help, description, parents=(common,)):
        return sub.add_parser(
            name,
            help=help,
            description=textwrap.fill(description, 79),
            parents=list(parents),
            epilog=SUBCOMMAND_EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    p = add(
        "ls",
        "list a remote directory",
        "List the remote directory URL names (or the one file it names).",
    )
    p.add_argument(
        "url",
        metavar="URL",
        help="ftp:// or ftps:// URL of a directory (or of one file)",
    )
    p.add_argument(
        "-l",
        "--long",
        action="store_true",
        help="type and permissions, owner, group, size, time, name",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="a JSON array of entries (name, path, type, size, modified, ...)",
    )

    p = add(
        "get",
        "download a file",
        "Download the file URL names to LOCAL (default: its name, in the "
        "current directory; a directory: into it; -: to stdout). It is "
        "written as LOCAL.part and renamed when complete and verified.",
        (common, transfer, retries),
    )
    p.add_argument("url", metavar="URL", help="ftp:// or ftps:// URL of the file")
    p.add_argument(
        "local",
        metavar="LOCAL",
        nargs="?",
        help="where to write it (default: the remote name, here)",
    )
    p.add_argument(
        "-j",
        "--connections",
        type=positive,
        default=1,
        metavar="N",
        help="download a large file over N connections (default 1)",
    )

    p = add(
        "put",
        "upload a file",
        "Upload the file LOCAL (-: stdin) to URL (a URL ending in / names the "
        "directory to put it in, under its own name).",
        (common, transfer, retries),
    )
    p.add_argument("local", metavar="LOCAL", help="the file to send")
    p.add_argument(
        "url", metavar="URL", help="where to put it; ending in /: into that directory"
    )

    p = add(
        "mirror",
        "copy a directory tree (-R: upload one)",
        "rftp mirror URL LOCAL copies the remote tree into the local directory; "
        "rftp mirror -R LOCAL URL copies a local tree to the server. Files "
        "already there (same size, and time where the server gives one) are "
        "skipped, so a second run transfers nothing. Each file lands "
        "through a .part file; an interrupted mirror resumes them.",
        (common, retries),
    )
    p.add_argument(
        "source", metavar="SOURCE", help="URL (with -R: local directory) to copy from"
    )
    p.add_argument(
        "target", metavar="TARGET", help="local directory (with -R: URL) to copy into"
    )
    p.add_argument(
        "-R",
        "--reverse",
        action="store_true",
        help="upload: SOURCE is local, TARGET a URL",
    )
    p.add_argument(
        "-j",
        "--connections",
        type=positive,
        default=4,
        metavar="N",
        help="parallel connections (default 4)",
    )
    p.add_argument(
        "--include",
        action="append",
        metavar="GLOB",
        help="only paths matching GLOB (relative, e.g. '*.txt', 'docs/*'); repeatable",
    )
    p.add_argument(
        "--exclude",
        action="append",
        metavar="GLOB",
        help="skip paths matching GLOB; repeatable",
    )
    p.add_argument(
        "--delete", action="store_true", help="delete what the source no longer has"
    )
    p.add_argument(
        "--dry-run",
        "-n",
        action="store_true",
        help="print what would be done; change nothing",
    )

    p = add(
        "cat", "print a remote file to stdout", "Write the file URL names to stdout."
    )
    p.add_argument("url", metavar="URL", help="ftp:// or ftps:// URL of the file")

    p = add(
        "rm",
        "delete a remote file (-r: a tree)",
        "Delete the remote file URL names; with -r, a directory and all it holds.",
    )
    p.add_argument(
        "url",
        metavar="URL",
        help="ftp:// or ftps:// URL of the file (with -r: of the directory)",
    )
    p.add_argument(
        "-r",
        "--recursive",
        action="store_true",
        help="delete a directory and everything in it",
    )

    p = add("mkdir", "make a remote directory", "Make the remote directory URL names.")
    p.add_argument(
        "url", metavar="URL", help="ftp:// or ftps:// URL of the directory to make"
    )
    p.add_argument(
        "-p",
        "--parents",
        action="store_true",
        help="make missing parents; no error if it exists",
    )

    p = add(
        "mv",
        "rename a remote file or directory",
        "Rename what URL names to NEWPATH (a path on the same server, "
        "relative to the login directory, or absolute).",
    )
    p.add_argument("url", metavar="URL", help="ftp:// or ftps:// URL of what to rename")
    p.add_argument("newpath", metavar="NEWPATH", help="its new path on the same server")
    return parser
