"""The ``python -m rftplib`` command line: CPython 3.13's ``ftplib.test()``.

Same options, same netrc handling, same messages and the same output bytes;
only the program name in the usage text differs. ``FTP`` is looked up in
``rftplib`` when the command runs, as ftplib's ``test()`` looks up its
module-global ``FTP``, so a patched ``rftplib.FTP`` is honoured.
"""

import sys

# Python 3.13 strips the indentation of docstrings at compile time and
# ftplib.test() prints its own docstring as the usage text; keeping the text
# flush left prints the 3.13 output on every supported Python.
_USAGE = """Test program.
Usage: rftplib [-d] [-r[file]] host [-l[dir]] [-d[dir]] [-p] [file] ...

Options:
  -d        increase debugging level
  -r[file]  set alternate ~/.netrc file

Commands:
  -l[dir]   list directory
  -d[dir]   change the current directory
  -p        toggle passive and active mode
  file      retrieve the file and write it to stdout
"""


def test():
    if len(sys.argv) < 2:
        print(test.__doc__)
        sys.exit(0)

    import netrc

    from rftplib import FTP

    debugging = 0
    rcfile = None
    while sys.argv[1] == "-d":
        debugging = debugging + 1
        del sys.argv[1]
    if sys.argv[1][:2] == "-r":
        # get name of alternate ~/.netrc file:
        rcfile = sys.argv[1][2:]
        del sys.argv[1]
    host = sys.argv[1]
    ftp = FTP(host)
    ftp.set_debuglevel(debugging)
    userid = passwd = acct = ""
    try:
        netrcobj = netrc.netrc(rcfile)
    except OSError:
        if rcfile is not None:
            print(
                "Could not open account file -- using anonymous login.", file=sys.stderr
            )
    else:
        try:
            userid, acct, passwd = netrcobj.authenticators(host)
        except (KeyError, TypeError):
            # no account for host
            print("No account -- using anonymous login.", file=sys.stderr)
    ftp.login(userid, passwd, acct)
    for file in sys.argv[2:]:
        if file[:2] == "-l":
            ftp.dir(file[2:])
        elif file[:2] == "-d":
            cmd = "CWD"
            if file[2:]:
                cmd = cmd + " " + file[2:]
            ftp.sendcmd(cmd)
        elif file == "-p":
            ftp.set_pasv(not ftp.passiveserver)
        else:
            ftp.retrbinary("RETR " + file, sys.stdout.buffer.write, 1024)
            sys.stdout.buffer.flush()
        sys.stdout.flush()
    ftp.quit()


test.__doc__ = _USAGE
# ftplib.test reports __module__ 'ftplib' and CPython's test__all__ lists it in
# not_exported; mirror that for the name rftplib re-exports.
test.__module__ = "rftplib"
