"""The type stub python/rftplib/_rftplib.pyi describes the compiled module exactly.

mypy's stubtest imports ``rftplib._rftplib`` and compares every name, class,
signature, default and ``@final``/``@disjoint_base`` marker in the stub with
what the module really has. Entries it must skip are in
``tests/stubtest_allowlist.txt``, each with the reason.

mypy is a test requirement (the ``[test]`` extra): without it this test fails
rather than skips, so a missing install cannot pass for a checked stub.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
STUB_ROOT = REPO / "python"
ALLOWLIST = REPO / "tests" / "stubtest_allowlist.txt"

# The stub is read from this checkout (MYPYPATH), whichever rftplib is
# installed. Found there, rftplib/__init__.py (which mypy analyses as the
# stub's parent package) counts as first-party code, and its own type errors
# would stop stubtest; follow_imports = silent mutes every module but the
# stub, stubtest's only source, whose errors are still reported.
MYPY_CONFIG = "[mypy]\nfollow_imports = silent\n"


@pytest.mark.timeout(300)
def test_stubtest_passes(tmp_path):
    if importlib.util.find_spec("mypy") is None:
        pytest.fail(
            "mypy is not installed, so the stub cannot be checked: "
            "pip install mypy (it belongs to rftplib's [test] extra)"
        )
    assert (STUB_ROOT / "rftplib" / "_rftplib.pyi").is_file()
    assert (STUB_ROOT / "rftplib" / "py.typed").is_file()
    config = tmp_path / "stubtest_mypy.ini"
    config.write_text(MYPY_CONFIG)
    env = dict(os.environ, MYPYPATH=str(STUB_ROOT))
    cmd = [
        sys.executable,
        "-m",
        "mypy.stubtest",
        "rftplib._rftplib",
        "--allowlist",
        str(ALLOWLIST),
        "--mypy-config-file",
        str(config),
    ]
    proc = subprocess.run(
        cmd,
        check=False,
        cwd=REPO,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=290,
    )
    output = proc.stdout + proc.stderr
    if proc.returncode != 0:
        print(output)
    assert proc.returncode == 0, f"{' '.join(cmd)} exited {proc.returncode}:\n{output}"
