"""Directory listings: retrlines('LIST'), dir(), nlst(), mlsd()."""

import pytest
from support import CONTENT, NON_ASCII_NAME, TOP_LEVEL


def _names_from_list_lines(lines):
    # pyftpdlib's LIST is `ls -l` style: the name is the 9th field on.
    return sorted(line.split(None, 8)[8] for line in lines)


def test_retrlines_list_prints_each_line(ftp, capsys):
    resp = ftp.retrlines("LIST")
    assert resp == "226 Transfer complete."
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert _names_from_list_lines(lines) == TOP_LEVEL
    assert out.endswith("\n") and "\r" not in out
    big = next(line for line in lines if line.endswith(" big.bin"))
    assert big.startswith("-rw")
    assert f" {len(CONTENT['big.bin'])} " in big


def test_retrlines_list_with_callback(ftp, capsys):
    lines = []
    assert ftp.retrlines("LIST", lines.append) == "226 Transfer complete."
    assert _names_from_list_lines(lines) == TOP_LEVEL
    assert all(not line.endswith(("\r", "\n")) for line in lines)
    assert capsys.readouterr().out == ""


def test_retrlines_of_a_text_file_strips_line_endings(ftp):
    lines = []
    ftp.retrlines("RETR text.txt", lines.append)
    assert lines == ["first line", "second line", "third line"]


def test_dir_prints_and_returns_none(ftp, capsys):
    assert ftp.dir() is None
    assert _names_from_list_lines(capsys.readouterr().out.splitlines()) == TOP_LEVEL


def test_dir_with_callback(ftp, capsys):
    lines = []
    assert ftp.dir(lines.append) is None
    assert _names_from_list_lines(lines) == TOP_LEVEL
    assert capsys.readouterr().out == ""


def test_dir_of_a_path_with_callback(ftp):
    lines = []
    ftp.dir("sub", lines.append)
    assert _names_from_list_lines(lines) == ["deeper", "inner.bin"]
    assert next(line for line in lines if line.endswith("deeper")).startswith("d")


def test_dir_skips_empty_arguments(ftp):
    lines = []
    ftp.dir("", "sub", "", lines.append)
    assert _names_from_list_lines(lines) == ["deeper", "inner.bin"]


def test_nlst(ftp):
    assert sorted(ftp.nlst()) == TOP_LEVEL


def test_nlst_of_a_directory(ftp):
    assert sorted(ftp.nlst("sub")) == ["deeper", "inner.bin"]


def test_nlst_of_an_empty_directory(ftp):
    assert ftp.nlst("sub/deeper") == []


def test_nlst_returns_the_non_ascii_name(ftp):
    assert NON_ASCII_NAME in ftp.nlst()


def test_nlst_of_a_missing_directory_raises_error_perm(lib, ftp):
    with pytest.raises(lib.error_perm, match=r"^550 "):
        ftp.nlst("missing")


def test_mlsd_yields_names_and_facts(ftp):
    entries = dict(ftp.mlsd())
    assert sorted(entries) == TOP_LEVEL
    assert entries["sub"]["type"] == "dir"
    assert entries["big.bin"]["type"] == "file"
    assert entries["big.bin"]["size"] == str(len(CONTENT["big.bin"]))
    assert entries[NON_ASCII_NAME]["size"] == "4096"
    assert set(entries["small.bin"]) == {"modify", "perm", "size", "type", "unique"}


def test_mlsd_is_lazy(ftp):
    gen = ftp.mlsd()
    assert iter(gen) is gen
    # Nothing has been sent yet: the control connection is still free.
    assert ftp.voidcmd("NOOP").startswith("200")
    assert len(list(gen)) == len(TOP_LEVEL)


def test_mlsd_of_a_path_with_facts(ftp):
    entries = {}
    for name, facts in ftp.mlsd("sub", facts=["type", "size", "modify"]):
        entries[name] = facts
    assert sorted(entries) == ["deeper", "inner.bin"]
    assert entries["deeper"].get("type") == "dir"
    assert entries["inner.bin"].get("type") == "file"
    assert entries["inner.bin"]["size"] == "2000"
    assert set(entries["inner.bin"]) == {"type", "size", "modify"}
    assert entries["inner.bin"].get("perm") is None


def test_mlsd_dirs_only_idiom(ftp):
    dirs = [
        name for name, facts in ftp.mlsd(facts=["type"]) if facts.get("type") == "dir"
    ]
    assert dirs == ["sub"]


def test_mlsd_of_an_empty_directory(ftp):
    assert list(ftp.mlsd("sub/deeper")) == []
