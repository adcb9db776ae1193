"""``FTP.mlsd``'s generator: lazy, as ftplib's is (nothing is sent until the
first ``next()``), with each line split by the Rust parser."""

from ._rftplib import _parse_mlsd_line


def mlsd(ftp, path, facts):
    if facts:
        ftp.sendcmd("OPTS MLST " + ";".join(facts) + ";")
    if path:
        cmd = "MLSD %s" % path
    else:
        cmd = "MLSD"
    lines = []
    ftp.retrlines(cmd, lines.append)
    for line in lines:
        yield _parse_mlsd_line(line)
