"""ftplib's two pure-Python helper functions, ``print_line`` and ``ftpcp``.

Both are copied from CPython 3.13's ``Lib/ftplib.py``. They report
``__module__ == 'rftplib'``, as ftplib's report ``'ftplib'``: CPython's
``test__all__`` lists them in ``not_exported``, so they must look like
members of the public module, not of this private one.
"""

from ._rftplib import error_proto, parse227


def print_line(line):
    """Default retrlines callback to print a line."""
    print(line)


def ftpcp(source, sourcename, target, targetname="", type="I"):
    """Copy file from one FTP-instance to another."""
    if not targetname:
        targetname = sourcename
    type = "TYPE " + type
    source.voidcmd(type)
    target.voidcmd(type)
    sourcehost, sourceport = parse227(source.sendcmd("PASV"))
    target.sendport(sourcehost, sourceport)
    # RFC 959: the user must "listen" [...] BEFORE sending the
    # transfer request.
    # So: STOR before RETR, because here the target is a "user".
    treply = target.sendcmd("STOR " + targetname)
    if treply[:3] not in {"125", "150"}:
        raise error_proto  # RFC 959
    sreply = source.sendcmd("RETR " + sourcename)
    if sreply[:3] not in {"125", "150"}:
        raise error_proto  # RFC 959
    source.voidresp()
    target.voidresp()


print_line.__module__ = ftpcp.__module__ = "rftplib"
