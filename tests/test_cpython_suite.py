"""CPython's own test_ftplib, run against rftplib under CPython 3.9, 3.11 and 3.13.

Each interpreter runs its own, unmodified ``test/test_ftplib.py`` through
``cpython_suite/runner.py`` in a subprocess.  Nothing is installed into those
interpreters: the rftplib package this pytest interpreter imports (its abi3
extension loads on every CPython >= 3.9) is copied to a temporary directory
that goes on the subprocess's PYTHONPATH.

The suite's dummy servers are threads of the client's process, so a client
call that blocks while holding the GIL hangs them only some of the time;
every interpreter therefore runs the selection ``REPEAT`` times.

Every class runs: the plain ones (TestFTPClass, TestIPv6Environment,
TestTimeouts, MiscTestCase) and the TLS ones (TestTLS_FTPClassMixin,
TestTLS_FTPClass).
"""

import importlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

RUNNER = Path(__file__).resolve().parent / "cpython_suite" / "runner.py"
VERSIONS = ("3.9", "3.11", "3.13")
REPEAT = 3
SUBPROCESS_TIMEOUT = 600  # seconds, for all repetitions of one interpreter

# Tests per repetition on 3.9-3.13: class -> (passed, skipped).
NON_TLS = {
    "TestFTPClass": (38, 0),
    "TestIPv6Environment": (4, 0),
    "TestTimeouts": (6, 0),
    "MiscTestCase": (1, 0),
}
TLS = {
    **NON_TLS,
    "TestTLS_FTPClassMixin": (38, 0),
    # test_check_hostname: @skipUnless(False, "FIXME: bpo-32706")
    "TestTLS_FTPClass": (6, 1),
}
VARIANTS = {"default": ([], NON_TLS), "tls": (["--tls"], TLS)}
FINAL_LINE = re.compile(
    r"^(\d+) passed, (\d+) failed(?:, (\d+) skipped)?$", re.MULTILINE
)


def pytest_generate_tests(metafunc):
    if "variant" not in metafunc.fixturenames:
        return
    # Every class of the suite, TLS included, on every interpreter.
    params = [pytest.param(version, "tls", id=version) for version in VERSIONS]
    metafunc.parametrize(("version", "variant"), params)


def _pyenv_roots():
    roots = []
    if os.environ.get("PYENV_ROOT"):
        roots.append(Path(os.environ["PYENV_ROOT"]))
    roots.append(Path.home() / ".pyenv")
    try:
        out = subprocess.run(
            ["pyenv", "root"], capture_output=True, text=True, timeout=30, check=False
        )
        if out.returncode == 0 and out.stdout.strip():
            roots.append(Path(out.stdout.strip()))
    except (OSError, subprocess.SubprocessError):
        pass
    return list(dict.fromkeys(roots))


def find_interpreter(version):
    """The newest pyenv CPython X.Y (not a free-threaded 't' or '-dev' build), or None."""
    name = re.compile(rf"^{re.escape(version)}(?:\.(\d+))?$")
    found = []
    for root in _pyenv_roots():
        for path in (root / "versions").glob(version + "*/bin/python3"):
            match = name.match(path.parent.parent.name)
            if match and os.access(path, os.X_OK):
                found.append((int(match.group(1) or 0), path))
    return max(found)[1] if found else None


@pytest.fixture(scope="session")
def module_under_test(request, tmp_path_factory):
    """(name, directory for PYTHONPATH or None, problem or None).

    rftplib unless the suite's --ftp-module option says otherwise; with
    --ftp-module=ftplib each interpreter's stdlib ftplib runs as a control.
    Any other module is the package this interpreter imports, copied so that
    the other interpreters import it without anything installed into them.
    A problem is returned rather than raised, so the tests fail (not error).
    """
    name = request.config.getoption("--ftp-module", default="rftplib")
    if name == "ftplib":
        return name, None, None
    try:
        module = importlib.import_module(name)
    except ImportError as exc:
        return (
            name,
            None,
            f"{name} is not importable here ({exc!r}); build it with 'maturin develop'",
        )
    source = Path(module.__file__).resolve()
    site = tmp_path_factory.mktemp(f"{name}-site")
    if source.name == "__init__.py":
        ignore = shutil.ignore_patterns("__pycache__")
        shutil.copytree(source.parent, site / name, ignore=ignore)
    else:
        shutil.copy2(source, site)
    if name == "rftplib" and not list((site / name).glob("_rftplib*.so")):
        return name, None, f"no _rftplib*.so next to {module.__file__}"
    return name, site, None


def _count_problems(repetitions, expected):
    """Every class ran its expected number of tests in every repetition, with
    nothing failing and at least the expected skips.  More skips are allowed
    only because the runner's exit status already refused any test that was
    skipped in every repetition (one skipped now and then, such as
    test_source_address when its port got taken, is verified by the others)."""
    problems = []
    for number, rep in enumerate(repetitions, 1):
        counts = rep["counts"]
        for cls in list(expected) + [c for c in counts if c not in expected]:
            got = counts.get(cls, {})
            passed, skipped = expected.get(cls, (0, 0))
            bad = {s: n for s, n in got.items() if n and s not in ("passed", "skipped")}
            ran = got.get("passed", 0) + got.get("skipped", 0)
            if bad or ran != passed + skipped or got.get("skipped", 0) < skipped:
                problems.append(
                    f"repetition {number}, {cls}: expected {passed} passed and "
                    f"{skipped} skipped, got {got}"
                )
    return problems


@pytest.mark.timeout(SUBPROCESS_TIMEOUT + 120)
def test_cpython_suite(version, variant, module_under_test, tmp_path):
    name, site, problem = module_under_test
    if problem:
        pytest.fail(problem, pytrace=False)
    python = find_interpreter(version)
    if python is None:
        roots = ", ".join(map(str, _pyenv_roots()))
        pytest.fail(
            f"no CPython {version} interpreter under {roots} "
            f"(expected <pyenv root>/versions/{version}.*/bin/python3)",
            pytrace=False,
        )

    extra_args, expected = VARIANTS[variant]
    result_file = tmp_path / "result.json"
    log_file = tmp_path / "runner.log"
    cmd = [str(python), "-s", str(RUNNER), "--module", name, "--repeat", str(REPEAT)]
    cmd += ["--json", str(result_file), *extra_args]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    if site is not None:
        env["PYTHONPATH"] = str(site)

    with open(log_file, "wb") as log:
        try:
            returncode = subprocess.run(
                cmd,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=str(tmp_path),
                timeout=SUBPROCESS_TIMEOUT,
                check=False,
            ).returncode
        except subprocess.TimeoutExpired:
            returncode = None
    output = log_file.read_text(encoding="utf-8", errors="replace")

    def fail(reason):
        pytest.fail(
            f"{reason}\ncommand: {' '.join(cmd)}\nPYTHONPATH={site or ''}\n"
            f"--- runner output ---\n{output}",
            pytrace=False,
        )

    if returncode is None:
        fail(f"the runner did not finish within {SUBPROCESS_TIMEOUT} s")
    if returncode != 0:
        fail(f"the runner exited with status {returncode}")
    if not result_file.exists():
        fail(f"the runner wrote no {result_file.name}")
    result = json.loads(result_file.read_text(encoding="utf-8"))

    if not result["python"].startswith(version + "."):
        fail(f"ran under Python {result['python']}, not {version}")
    tested = Path(result["module_file"]).resolve()
    home = (site or Path(result["test_file"]).parent.parent).resolve()
    if home not in tested.parents:
        fail(f"the runner tested {tested}, expected the module under {home}")
    if len(result["repetitions"]) != REPEAT:
        fail(f"{len(result['repetitions'])} repetitions reported, {REPEAT} requested")
    problems = _count_problems(result["repetitions"], expected)
    if problems:
        fail("unexpected counts:\n  " + "\n  ".join(problems))

    finals = FINAL_LINE.findall(output)
    tests = REPEAT * sum(p + s for p, s in expected.values())
    final = finals[-1] if finals else ("0", "-", "0")
    if final[1] != "0" or int(final[0]) + int(final[2] or 0) != tests:
        fail(f"final line {final!r} does not add up to {tests} tests, 0 failed")
