"""``rftp``: copy files and trees to and from FTP and FTPS servers.

The console script ``rftp`` (``rftplib.cli:main``). ``python -m rftplib``
remains ftplib's test program.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import ftplib
import json
import os
import posixpath
import re
import ssl
import sys
import time

from . import FTP, FTP_TLS, __version__
from ._rftp_bar import Bar, Board, Note, human_bytes
from ._rftp_url import UsageError, parse_url, resolve_login

__all__ = ["main"]

# Exit statuses (documented in --help).
OK = 0
FTP_ERROR = 1
USAGE = 2
CONNECTION = 3
LOCAL = 4
LOGIN = 5
INTERRUPTED = 130

EPILOG = """\
URLs:
  ftp://[user[:password]@]host[:port]/path   plain FTP (port 21)
  ftps://[user[:password]@]host[:port]/path  explicit FTPS: AUTH TLS, then PROT P
                                             (with --implicit: TLS from the first
                                             byte, port 990)
  The path is relative to the login directory, each /-separated segment
  percent-decoded (RFC 1738, as curl and urllib read it); %2F makes it
  absolute: ftp://host/%2Fetc/motd names /etc/motd. A trailing / names a
  directory.

Passwords, first found wins: the URL (visible in `ps`: avoid it), the
RFTP_PASSWORD environment variable, ~/.netrc (machine/login/password), a
prompt without echo when stdin is a terminal. Without a user in the URL the
login is ~/.netrc's for the host, else anonymous. Passwords are masked in
every message and in the -v dialogue.

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
"""

MIRROR_PARTS = object()  # Run.part during a mirror: files in flight, unnamed

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
    g.add_argument("-v", "--verbose", action="count", default=0,
                   help="print the control dialogue on stderr, passwords masked "
                        "(-vv: every line sent and received)")
    g.add_argument("-q", "--quiet", action="store_true",
                   help="no progress bars or summaries; errors only")
    g.add_argument("--implicit", action="store_true",
                   help="implicit FTPS (ftps:// URLs only; default port 990)")
    g.add_argument("--insecure", action="store_true",
                   help="FTPS: do not verify the server's certificate")
    g.add_argument("--cafile", metavar="FILE",
                   help="FTPS: trust the CA certificates in FILE (PEM) instead of "
                        "the system's")
    g.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS",
                   help="network timeout (default 30)")

    retries = argparse.ArgumentParser(add_help=False)
    retries.add_argument("--retries", type=nonnegative, default=3, metavar="N",
                         help="retry a failed transfer N times (default 3)")
    transfer = argparse.ArgumentParser(add_help=False)
    t = transfer.add_argument_group("transfers")
    t.add_argument("--resume", dest="resume", action="store_true", default=None,
                   help="continue a partial transfer (get: the default, from the "
                        "LOCAL.part an interrupted run left; put: append to the "
                        "remote file)")
    t.add_argument("--no-resume", dest="resume", action="store_false",
                   help="start over")
    t.add_argument("--rate-limit", type=rate, metavar="RATE",
                   help="at most RATE bytes per second: 500k, 10M, 1G (1024-based)")

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
            name, help=help, description=description, parents=list(parents),
            epilog=SUBCOMMAND_EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    p = add("ls", "list a remote directory",
            "List the remote directory URL names (or the one file it names).")
    p.add_argument("url", metavar="URL")
    p.add_argument("-l", "--long", action="store_true",
                   help="type and permissions, owner, group, size, time, name")
    p.add_argument("--json", action="store_true",
                   help="a JSON array of entries (name, path, type, size, modified, ...)")

    p = add("get", "download a file",
            "Download the file URL names to LOCAL (default: its name, in the "
            "current directory; a directory: into it; -: to stdout). It is "
            "written as LOCAL.part and renamed when complete and verified.",
            (common, transfer, retries))
    p.add_argument("url", metavar="URL")
    p.add_argument("local", metavar="LOCAL", nargs="?")
    p.add_argument("-j", "--connections", type=positive, default=1, metavar="N",
                   help="download a large file over N connections (default 1)")

    p = add("put", "upload a file",
            "Upload the file LOCAL to URL (a URL ending in / names the "
            "directory to put it in, under its own name).",
            (common, transfer, retries))
    p.add_argument("local", metavar="LOCAL")
    p.add_argument("url", metavar="URL")

    p = add("mirror", "copy a directory tree (-R: upload one)",
            "rftp mirror URL LOCAL copies the remote tree into the local directory; "
            "rftp mirror -R LOCAL URL copies a local tree to the server. Files "
            "already there (same size, and time where the server gives one) are "
            "skipped, so a second run transfers nothing. Each file lands "
            "through a .part file; an interrupted mirror resumes them.",
            (common, retries))
    p.add_argument("source", metavar="SOURCE")
    p.add_argument("target", metavar="TARGET")
    p.add_argument("-R", "--reverse", action="store_true",
                   help="upload: SOURCE is local, TARGET a URL")
    p.add_argument("-j", "--connections", type=positive, default=4, metavar="N",
                   help="parallel connections (default 4)")
    p.add_argument("--include", action="append", metavar="GLOB",
                   help="only paths matching GLOB (relative, e.g. '*.txt', "
                        "'docs/*'); repeatable")
    p.add_argument("--exclude", action="append", metavar="GLOB",
                   help="skip paths matching GLOB; repeatable")
    p.add_argument("--delete", action="store_true",
                   help="delete what the source no longer has")
    p.add_argument("--dry-run", "-n", action="store_true",
                   help="print what would be done; change nothing")

    p = add("cat", "print a remote file to stdout", "Write the file URL names to stdout.")
    p.add_argument("url", metavar="URL")

    p = add("rm", "delete a remote file (-r: a tree)",
            "Delete the remote file URL names; with -r, a directory and all it holds.")
    p.add_argument("url", metavar="URL")
    p.add_argument("-r", "--recursive", action="store_true",
                   help="delete a directory and everything in it")

    p = add("mkdir", "make a remote directory", "Make the remote directory URL names.")
    p.add_argument("url", metavar="URL")
    p.add_argument("-p", "--parents", action="store_true",
                   help="make missing parents; no error if it exists")

    p = add("mv", "rename a remote file or directory",
            "Rename what URL names to NEWPATH (a path on the same server, "
            "relative to the login directory, or absolute).")
    p.add_argument("url", metavar="URL")
    p.add_argument("newpath", metavar="NEWPATH")
    return parser


# -- output helpers -----------------------------------------------------------


class Masked:
    """A text stream onto ``run.err`` that writes every password as ``****``."""

    def __init__(self, run):
        self.run = run

    def write(self, text):
        return self.run.err.write(self.run.mask(text))

    def flush(self):
        self.run.err.flush()

    def isatty(self):
        return self.run.err.isatty()


class Failure(Exception):
    """A reported failure: one line already composed, and an exit status."""

    def __init__(self, message, status):
        super().__init__(message)
        self.status = status


class Run:
    """One rftp invocation: arguments, streams, the session and its secrets."""

    def __init__(self, args, out, err):
        self.args = args
        self.out = out  # stdout as it was (for listings and cat)
        self.err = err
        self.secrets = []
        self.ftp = None
        self.subject = ""  # what messages are about: "get pub/x.bin"
        self.part = None  # a partial file an interruption leaves behind
        show = not args.quiet and err.isatty()
        self.board = Board(err) if show else None
        self.bars = {}
        self.mirror_started = None

    # messages

    def mask(self, text):
        for secret in self.secrets:
            if secret:
                text = text.replace(secret, "****")
        return text

    def say(self, text):
        """A message on stderr (unless -q)."""
        if not self.args.quiet:
            self.err.write(self.mask(text) + "\n")
            self.err.flush()

    def report(self, result):
        """With -v, what a TransferResult says, on one line."""
        if not self.args.verbose or self.args.quiet:
            return
        rate = result.bytes / result.seconds if result.seconds > 0 else 0
        text = (f"rftp: {self.subject}: {result.bytes} bytes in {result.seconds:.2f} s "
                f"({human_bytes(rate)}/s)")
        if result.resumed_from:
            text += f", resumed from byte {result.resumed_from}"
        if result.connections > 1:
            text += f", {result.connections} connections"
        if result.checksum_algorithm:
            text += f", {result.checksum_algorithm} verified"
        self.say(text)

    # sessions

    def connect(self, target):
        args = self.args
        if args.implicit and not target.tls:
            raise UsageError("--implicit needs an ftps:// URL")
        if target.password:
            self.secrets.append(target.password)
        user, password = resolve_login(target)
        self.secrets.append(password)
        if target.tls:
            ftp = FTP_TLS(context=self.tls_context(), implicit=args.implicit,
                          timeout=args.timeout)
        else:
            ftp = FTP(timeout=args.timeout)
        self.ftp = ftp
        ftp.set_debuglevel(args.verbose)
        port = target.port or (990 if args.implicit else 21)
        where = f"{target.host}:{port}"
        try:
            ftp.connect(target.host, port)
        except (OSError, EOFError) as e:
            raise Failure(f"cannot connect to {where}: {describe(e)}", CONNECTION) from None
        except ftplib.Error as e:
            raise Failure(f"{where} refused the connection: {e}", CONNECTION) from None
        try:
            ftp.login(user, password)
        except ftplib.error_perm as e:
            raise Failure(f"login as {user} refused: {e}", LOGIN) from None
        if target.tls:
            ftp.prot_p()
        return ftp

    def tls_context(self):
        args = self.args
        if args.insecure:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            return ctx
        if args.cafile:
            try:
                return ssl.create_default_context(cafile=args.cafile)
            except (OSError, ssl.SSLError) as e:
                raise Failure(f"cannot load --cafile {args.cafile}: {describe(e)}",
                              LOCAL) from None
        return ssl.create_default_context()

    def close(self):
        ftp, self.ftp = self.ftp, None
        if ftp is None:
            return
        try:
            ftp.quit()
        except Exception:  # noqa: BLE001 - the work is done; a rude goodbye is no failure
            ftp.close()

    # progress

    def progress_of(self, name):
        """A ``progress(done, total)`` callable for one transfer (None: no bars)."""
        if self.board is None:
            return None
        started = time.monotonic()
        return lambda done, total: self.progress(name, done, total, started)

    def progress(self, name, done, total, started=None):
        if self.board is None:
            return
        bar = self.bars.get(name)
        if bar is None:
            # Bytes already there when the first report comes are a resumed
            # part, not speed; unless that first report is also the last.
            finished = total is not None and done >= total
            bar = Bar(name, total, done=done, start_done=0 if finished else done)
            if started is not None:
                bar.started = started
            self.bars[name] = self.board.add(bar)
            delta = done
        else:
            delta = done - bar.done
        bar.total, bar.done = total, done
        if self.board.footer is not None:
            self.board.footer.done += delta
        if total is not None and done >= total:
            self.board.remove(bar)
            del self.bars[name]
        else:
            self.board.draw()

    def mirror_progress(self, path, done, total, files_done, files_total):
        """A mirror's total bar, with the file in flight above it."""
        if self.board is None:
            return
        board = self.board
        if board.footer is None:
            board.footer = Bar("total", total)
            board.footer.started = self.mirror_started
            board.add(Note(""))
        board.footer.done, board.footer.total = done, total
        board.footer.files = (files_done, files_total)
        board.bars[0].text = path
        board.draw(force=files_done == files_total)

    def end_bars(self):
        if self.board is not None:
            self.board.close()
            self.bars = {}


LOCAL_ERRNOS = {
    errno.ENOENT, errno.EACCES, errno.EPERM, errno.EISDIR, errno.ENOTDIR,
    errno.EEXIST, errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG,
    errno.ENAMETOOLONG, errno.EIO,
}


def is_local(e):
    """Whether an OSError is about a file here rather than the network."""
    return bool(e.filename) or e.errno in LOCAL_ERRNOS


def describe(e):
    """An exception as the short phrase messages end with."""
    if isinstance(e, ssl.SSLCertVerificationError):
        return f"certificate verification failed: {e.verify_message or e}"
    if isinstance(e, EOFError):
        return "the server closed the connection"
    if isinstance(e, TimeoutError):
        return "timed out"
    if isinstance(e, OSError) and e.strerror:
        return e.strerror + (f": {e.filename}" if e.filename else "")
    return str(e) or type(e).__name__


# -- the commands ---------------------------------------------------------------


def cmd_ls(run, args):
    target = parse_url(args.url)
    run.subject = f"ls {target.display()}"
    ftp = run.connect(target)
    try:
        entries = ftp.scandir(target.path)
    except ftplib.error_perm:
        if target.trailing_slash or not target.path:
            raise
        entries = [ftp.stat(target.path)]
    entries.sort(key=lambda e: e.name)
    if args.json:
        json.dump([entry_dict(e) for e in entries], run.out, indent=1, ensure_ascii=False)
        run.out.write("\n")
    elif args.long:
        for e in entries:
            run.out.write(long_line(e) + "\n")
    else:
        for e in entries:
            run.out.write(e.name + "\n")
    return OK


def entry_dict(e):
    return {
        "name": e.name,
        "path": e.path,
        "type": e.type,
        "size": e.size,
        "modified": e.modified.isoformat() if e.modified else None,
        "permissions": e.permissions,
        "owner": e.owner,
        "group": e.group,
        "target": e.target,
        "facts": dict(e.facts or {}),
    }


def long_line(e):
    mark = {"file": "-", "dir": "d", "link": "l"}.get(e.type, "?")
    perms = e.permissions or ""
    if not re.fullmatch(r"[-dlcbps][-rwxsStT]{9}", perms):
        perms = mark + (perms or "")
    when = e.modified.strftime("%Y-%m-%d %H:%M") if e.modified else "-"
    size = "-" if e.size is None else str(e.size)
    name = e.name + (f" -> {e.target}" if e.target else "")
    return f"{perms:<10} {e.owner or '-':<8} {e.group or '-':<8} {size:>12} {when:<16} {name}"


def cmd_get(run, args):
    target = parse_url(args.url)
    run.subject = f"get {target.display()}"
    if not target.path or target.trailing_slash:
        raise UsageError(f"{target.display()} is a directory: use rftp mirror")
    name = posixpath.basename(target.path)
    if args.local == "-":
        return cat(run, target)
    local = args.local or name
    if os.path.isdir(local):
        local = os.path.join(local, name)
    ftp = run.connect(target)
    run.part = local + ".part"
    result = ftp.download(
        target.path, local,
        resume=True if args.resume is None else args.resume,
        connections=args.connections, retries=args.retries,
        rate_limit=args.rate_limit, progress=run.progress_of(target.path),
    )
    run.part = None
    run.end_bars()
    run.report(result)
    return OK


def cmd_put(run, args):
    target = parse_url(args.url)
    local = args.local
    if os.path.isdir(local):
        raise UsageError(f"{local} is a directory: use rftp mirror -R")
    remote = target.path
    if not remote or target.trailing_slash:
        remote = posixpath.join(remote, os.path.basename(local)) if remote else \
            os.path.basename(local)
    run.subject = f"put {remote}"
    if not os.path.exists(local):
        raise Failure(f"{local}: no such file", LOCAL)
    ftp = run.connect(target)
    result = ftp.upload(
        local, remote,
        resume=bool(args.resume), retries=args.retries,
        rate_limit=args.rate_limit, progress=run.progress_of(remote),
    )
    run.end_bars()
    run.report(result)
    return OK


def cmd_mirror(run, args):
    if args.reverse:
        local, target = args.source, parse_url(args.target)
        if not os.path.isdir(local):
            raise Failure(f"{local}: not a directory", LOCAL)
        run.subject = f"mirror -R {local}"
        source, dest = local, target.path
    else:
        target, local = parse_url(args.source), args.target
        run.subject = f"mirror {target.display()}"
        source, dest = target.path, local
    ftp = run.connect(target)
    run.part = None if args.dry_run or args.reverse else MIRROR_PARTS
    run.mirror_started = time.monotonic()
    result = ftp.mirror(
        source, dest, upload=args.reverse, connections=args.connections,
        delete=args.delete, include=args.include, exclude=args.exclude,
        dry_run=args.dry_run, retries=args.retries,
        progress=run.mirror_progress if run.board else None,
    )
    run.end_bars()
    if args.dry_run:
        verb = "put" if args.reverse else "get"
        for rel in result.transferred:
            run.out.write(f"{verb} {rel}\n")
        for rel in result.deleted:
            run.out.write(f"delete {rel}\n")
    for rel, reason in result.failed:
        run.err.write(run.mask(f"rftp: {run.subject}: {rel}: {reason}") + "\n")
    if args.dry_run:
        run.say(
            f"rftp: dry run: {len(result.transferred)} to transfer, "
            f"{len(result.skipped)} up to date, {len(result.deleted)} to delete"
        )
    else:
        run.say(
            f"rftp: {len(result.transferred)} transferred "
            f"({human_bytes(result.bytes)}), {len(result.skipped)} skipped, "
            f"{len(result.deleted)} deleted, {len(result.failed)} failed "
            f"in {result.seconds:.1f} s"
        )
    return FTP_ERROR if result.failed else OK


def cmd_cat(run, args):
    target = parse_url(args.url)
    run.subject = f"cat {target.display()}"
    return cat(run, target)


def cat(run, target):
    ftp = run.connect(target)
    sink = run.out.buffer if hasattr(run.out, "buffer") else run.out
    ftp.retrbinary("RETR " + target.path, sink.write)
    sink.flush()
    return OK


def cmd_rm(run, args):
    target = parse_url(args.url)
    run.subject = f"rm {target.display()}"
    if not target.path:
        raise UsageError("refusing to remove the login directory")
    ftp = run.connect(target)
    if not args.recursive:
        ftp.delete(target.path)
        return OK
    try:
        ftp.delete(target.path)
        return OK
    except ftplib.error_perm:
        pass  # a directory, presumably: remove what it holds, then it
    for dirpath, dirnames, filenames in ftp.walk(target.path, topdown=False):
        for name in filenames:
            ftp.delete(posixpath.join(dirpath, name))
        for name in dirnames:
            ftp.rmd(posixpath.join(dirpath, name))
    ftp.rmd(target.path)
    return OK


def cmd_mkdir(run, args):
    target = parse_url(args.url)
    run.subject = f"mkdir {target.display()}"
    if not target.path:
        raise UsageError("no directory named in the URL")
    ftp = run.connect(target)
    if not args.parents:
        ftp.mkd(target.path)
        return OK
    home = ftp.pwd()
    parts = target.path.split("/")
    for i in range(1, len(parts) + 1):
        prefix = "/".join(parts[:i])
        if prefix in ("", "/"):
            continue
        try:
            ftp.mkd(prefix)
        except ftplib.error_perm:
            if not is_dir(ftp, prefix, home):
                raise
    return OK


def is_dir(ftp, path, home):
    """Whether ``path`` is a directory one can enter (returning to ``home``)."""
    try:
        ftp.cwd(path)
    except ftplib.error_perm:
        return False
    ftp.cwd(home)
    return True


def cmd_mv(run, args):
    target = parse_url(args.url)
    run.subject = f"mv {target.display()}"
    newpath = args.newpath
    if "://" in newpath:
        other = parse_url(newpath)
        if (other.host, other.port) != (target.host, target.port):
            raise UsageError("mv renames on one server: NEWPATH must be on the same host")
        newpath = other.path
    ftp = run.connect(target)
    ftp.rename(target.path, newpath)
    return OK


COMMANDS = {
    "ls": cmd_ls, "get": cmd_get, "put": cmd_put, "mirror": cmd_mirror,
    "cat": cmd_cat, "rm": cmd_rm, "mkdir": cmd_mkdir, "mv": cmd_mv,
}


# -- entry point ----------------------------------------------------------------


def main(argv=None):
    """Run rftp with ``argv`` (default sys.argv[1:]); returns via SystemExit."""
    parser = build_parser()
    args = parser.parse_args(argv)
    sys.exit(run_command(parser, args))


def run_command(parser, args):
    out, err = sys.stdout, sys.stderr
    run = Run(args, out, err)
    for url in (getattr(args, "url", None), getattr(args, "source", None),
                getattr(args, "target", None)):
        if url and "://" in url:
            try:
                password = parse_url(url).password
            except UsageError:
                continue
            if password:
                run.secrets.append(password)
    status = OK
    # ftplib's debug output goes to sys.stdout: -v sends it to stderr, masked.
    try:
        with contextlib.redirect_stdout(Masked(run)):
            try:
                status = COMMANDS[args.command](run, args)
                run.close()
            finally:
                run.end_bars()
    except UsageError as e:
        parser.exit(USAGE, f"rftp: {run.mask(str(e))}\n")
    except Failure as e:
        status = fail(run, str(e), e.status)
    except ftplib.Error as e:
        status = fail(run, str(e), FTP_ERROR)
    except (ssl.SSLError, EOFError, ConnectionError, TimeoutError) as e:
        status = fail(run, describe(e), CONNECTION)
    except OSError as e:
        status = fail(run, describe(e), LOCAL if is_local(e) else CONNECTION)
    except KeyboardInterrupt:
        run.end_bars()
        if run.ftp is not None:
            run.ftp.close()  # no QUIT: the server may be mid-transfer
            run.ftp = None
        note = "interrupted"
        if run.part is MIRROR_PARTS:
            note += ("; partial files are kept as .part: run the same command again "
                     "to resume")
        elif run.part and os.path.exists(run.part):
            note += (f"; the partial file {run.part} is kept: run the same command "
                     "again to resume")
        status = fail(run, note, INTERRUPTED)
    except BrokenPipeError:
        # stdout closed early (rftp cat ... | head): not an error worth a word
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        status = OK
    finally:
        if run.ftp is not None:
            run.ftp.close()  # after a failure: no goodbye
    return status


def fail(run, message, status):
    subject = f"{run.subject}: " if run.subject else ""
    run.err.write(run.mask(f"rftp: {subject}{message}") + "\n")
    run.err.flush()
    return status


if __name__ == "__main__":  # pragma: no cover
    main()
