"""``rftp``: copy files and trees to and from FTP and FTPS servers.

The console script ``rftp`` (``rftplib.cli:main``). ``python -m rftplib``
remains ftplib's test program.
"""

from __future__ import annotations

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
from urllib.parse import urlsplit

from . import FTP, FTP_TLS
from ._rftp_args import build_parser
from ._rftp_bar import Bar, Board, Note, human_bytes
from ._rftp_scrub import hide_env_var, hide_url_password
from ._rftp_url import PASSWORD_ENV, UsageError, parse_url, resolve_login

__all__ = ["main"]

# Exit statuses (documented in --help).
OK = 0
FTP_ERROR = 1
USAGE = 2
CONNECTION = 3
LOCAL = 4
LOGIN = 5
INTERRUPTED = 130
STDOUT_CLOSED = 141  # what a shell reports for a command killed by SIGPIPE

MIRROR_PARTS = object()  # Run.part during a mirror: files in flight, unnamed

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


class StdoutClosed(Exception):
    """The reader of stdout went away (``rftp cat URL | head``)."""


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

    def emit(self, data, stream=None):
        """Write command output to stdout (or ``stream``) and flush it."""
        stream = self.out if stream is None else stream
        try:
            stream.write(data)
            stream.flush()
        except BrokenPipeError:
            raise StdoutClosed from None

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
        text = (
            f"rftp: {self.subject}: {result.bytes} bytes in {result.seconds:.2f} s "
            f"({human_bytes(rate)}/s)"
        )
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
            ftp = FTP_TLS(
                context=self.tls_context(), implicit=args.implicit, timeout=args.timeout
            )
        else:
            ftp = FTP(timeout=args.timeout)
        self.ftp = ftp
        ftp.set_debuglevel(args.verbose)
        port = target.port or (990 if args.implicit else 21)
        where = f"{target.host}:{port}"
        try:
            ftp.connect(target.host, port)
        except (OSError, EOFError) as e:
            raise Failure(
                f"cannot connect to {where}: {describe(e)}", CONNECTION
            ) from None
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
                raise Failure(
                    f"cannot load --cafile {args.cafile}: {describe(e)}", LOCAL
                ) from None
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
        """A ``progress(done, total)`` callable drawing one transfer's bar
        (None when there are no bars)."""
        if self.board is None:
            return None
        started = time.monotonic()
        return lambda done, total: self.progress(name, done, total, started)

    def progress(self, name, done, total, started):
        bar = self.bars.get(name)
        if bar is None:
            # Bytes already there when the first report comes are a resumed
            # part, not speed; unless that first report is also the last.
            finished = total is not None and done >= total
            bar = Bar(name, total, done=done, start_done=0 if finished else done)
            bar.started = started
            self.bars[name] = self.board.add(bar)
        bar.total, bar.done = total, done
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
    errno.ENOENT,
    errno.EACCES,
    errno.EPERM,
    errno.EISDIR,
    errno.ENOTDIR,
    errno.EEXIST,
    errno.ENOSPC,
    errno.EDQUOT,
    errno.EROFS,
    errno.EFBIG,
    errno.ENAMETOOLONG,
    errno.EIO,
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
        run.emit(
            json.dumps([entry_dict(e) for e in entries], indent=1, ensure_ascii=False)
            + "\n"
        )
    elif args.long:
        for e in entries:
            run.emit(long_line(e) + "\n")
    else:
        for e in entries:
            run.emit(e.name + "\n")
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
    """``ls -l`` style: mode, owner, group, size, time (UTC), name."""
    mark = {"file": "-", "dir": "d", "link": "l"}.get(e.type, "?")
    facts = e.facts or {}
    perms = e.permissions or mode_string(facts.get("unix.mode"))
    if not perms or not re.fullmatch(r"[-dlcbps?][-rwxsStT]{9}", perms):
        perms = mark + ("?" * 9 if not perms else perms)
    elif perms[0] == "?":
        perms = mark + perms[1:]
    owner = e.owner or facts.get("unix.owner") or facts.get("unix.uid") or "-"
    group = e.group or facts.get("unix.group") or facts.get("unix.gid") or "-"
    when = e.modified.strftime("%Y-%m-%d %H:%M") if e.modified else "-"
    size = "-" if e.size is None else str(e.size)
    name = e.name + (f" -> {e.target}" if e.target else "")
    return f"{perms:<10} {owner:<8} {group:<8} {size:>12} {when:<16} {name}"


def mode_string(mode):
    """MLSD's unix.mode ("0644") as "?rw-r--r--" (the type is filled in later)."""
    try:
        bits = int(mode, 8)
    except (TypeError, ValueError):
        return None
    rwx = "".join(
        ch if bits & (1 << (8 - i)) else "-" for i, ch in enumerate("rwxrwxrwx")
    )
    return "?" + rwx


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
        target.path,
        local,
        resume=True if args.resume is None else args.resume,
        connections=args.connections,
        retries=args.retries,
        rate_limit=args.rate_limit,
        progress=run.progress_of(target.path),
    )
    run.part = None
    run.end_bars()
    run.report(result)
    return OK


def cmd_put(run, args):
    target = parse_url(args.url)
    local = args.local
    remote = target.path
    if local == "-":  # stdin: the URL must name the file
        if not remote or target.trailing_slash:
            raise UsageError(
                "put - (stdin) needs a URL naming the file, not a directory"
            )
        source = sys.stdin.buffer
    else:
        if os.path.isdir(local):
            raise UsageError(f"{local} is a directory: use rftp mirror -R")
        if not remote or target.trailing_slash:
            remote = posixpath.join(remote, os.path.basename(local))
        if not os.path.exists(local):
            run.subject = f"put {remote}"
            raise Failure(f"{local}: no such file", LOCAL)
        source = local
    run.subject = f"put {remote}"
    ftp = run.connect(target)
    result = ftp.upload(
        source,
        remote,
        resume=bool(args.resume),
        retries=args.retries,
        rate_limit=args.rate_limit,
        progress=run.progress_of(remote),
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
        source,
        dest,
        upload=args.reverse,
        connections=args.connections,
        delete=args.delete,
        include=args.include,
        exclude=args.exclude,
        dry_run=args.dry_run,
        retries=args.retries,
        progress=run.mirror_progress if run.board else None,
    )
    run.end_bars()
    if args.dry_run:
        verb = "put" if args.reverse else "get"
        for rel in result.transferred:
            run.emit(f"{verb} {rel}\n")
        for rel in result.deleted:
            run.emit(f"delete {rel}\n")
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
    ftp.retrbinary("RETR " + target.path, lambda block: run.emit(block, sink))
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
            raise UsageError(
                "mv renames on one server: NEWPATH must be on the same host"
            )
        newpath = other.path
    ftp = run.connect(target)
    ftp.rename(target.path, newpath)
    return OK


COMMANDS = {
    "ls": cmd_ls,
    "get": cmd_get,
    "put": cmd_put,
    "mirror": cmd_mirror,
    "cat": cmd_cat,
    "rm": cmd_rm,
    "mkdir": cmd_mkdir,
    "mv": cmd_mv,
}


# -- entry point ----------------------------------------------------------------


def main(argv=None):
    """Run rftp with ``argv`` (default sys.argv[1:]); returns via SystemExit."""
    if argv is None:
        hide_passwords(sys.argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    sys.exit(run_command(parser, args))


def hide_passwords(argv):
    """Take the passwords given on the command line or in RFTP_PASSWORD out of
    what ``ps`` shows of this process (where the platform allows)."""
    for arg in argv:
        if "://" not in arg:
            continue
        try:
            raw = urlsplit(arg).password
        except ValueError:
            continue
        if raw:
            hide_url_password(raw)
    if os.environ.get(PASSWORD_ENV):
        hide_env_var(PASSWORD_ENV)


def run_command(parser, args):
    out, err = sys.stdout, sys.stderr
    run = Run(args, out, err)
    for url in (
        getattr(args, "url", None),
        getattr(args, "source", None),
        getattr(args, "target", None),
    ):
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
            note += (
                "; partial files are kept as .part: run the same command again "
                "to resume"
            )
        elif run.part and os.path.exists(run.part):
            note += (
                f"; the partial file {run.part} is kept: run the same command "
                "again to resume"
            )
        status = fail(run, note, INTERRUPTED)
    except StdoutClosed:
        # Quietly, like a command killed by SIGPIPE; stdout goes nowhere now so
        # that the interpreter's last flush finds nothing to complain about.
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        status = STDOUT_CLOSED
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
