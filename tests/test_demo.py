"""The README's first command: ``python -m rftplib._demo`` makes a real transfer."""

import subprocess
import sys


def test_demo_transfers_and_verifies():
    out = subprocess.run(
        [sys.executable, "-m", "rftplib._demo"], check=False, capture_output=True, text=True, timeout=100
    )
    assert out.returncode == 0, out.stderr
    assert "sha256 matches: True" in out.stdout
    assert "download(connections=" in out.stdout
    assert "scandir: copy.bin" in out.stdout
