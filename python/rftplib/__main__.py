"""``python -m rftplib``: the same command line as ``python -m ftplib``."""

from ._cli import test

if __name__ == "__main__":
    test()
