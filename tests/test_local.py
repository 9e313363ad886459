"""Local input: snapshot directories, containers of them at any depth, and files that cannot be read.

Nothing is left out silently: a child the search does not enter is reported as skipped with the reason, and a
license-like file that cannot be read fails the audit closed (check `file-unreadable`)."""
from __future__ import annotations

import json
import os
import threading

import pytest
from click.testing import CliRunner

import audit
from audit.cli import main
from audit.errors import InputUnreadable
from audit.model import Skipped, Snapshot
from audit.sources.base import read_text_file
from audit.sources.local import read_local, read_snapshot_dir

MIT = "---\nlicense: mit\n---\n# model\n"


def model(path, card=MIT, **files):
    path.mkdir(parents=True, exist_ok=True)
    if card is not None:
        (path / "README.md").write_text(card)
    for name, text in files.items():
        (path / name).write_text(text)
    return path


def test_a_license_at_the_container_root_does_not_hide_its_children(tmp_path):
    (tmp_path / "LICENSE").write_text("MIT License\n")
    model(tmp_path / "a")
    model(tmp_path / "b")
    found = read_local(str(tmp_path))
    assert sorted(os.path.basename(f.subject) for f in found if isinstance(f, Snapshot)) == ["a", "b"]


def test_models_at_any_depth_and_in_dot_directories_are_audited(tmp_path):
    deep = tmp_path
    for part in "abcdefg":
        deep = deep / part
    model(deep)
    model(tmp_path / ".hidden" / "m")
    found = read_local(str(tmp_path))
    paths = sorted(f.subject for f in found if isinstance(f, Snapshot))
    assert paths == sorted([str(deep), str(tmp_path / ".hidden" / "m")])


def test_skipped_directories_are_reported_with_the_reason(tmp_path):
    model(tmp_path / "m")
    venv = tmp_path / "venv"
    (venv / "lib").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("home = /usr\n")
    model(venv / "lib" / "pkg")
    (tmp_path / ".git").mkdir()
    found = read_local(str(tmp_path))
    skipped = {os.path.basename(s.input): s.reason for s in found if isinstance(s, Skipped)}
    assert "pyvenv.cfg" in skipped["venv"] and "version-control" in skipped[".git"]
    report = audit.audit([str(tmp_path)], offline=True)
    assert {os.path.basename(s.input) for s in report.skipped} == {"venv", ".git"}
    res = CliRunner().invoke(main, ["check", str(tmp_path), "--format", "json", "--offline"])
    assert {os.path.basename(s["input"]) for s in json.loads(res.stdout)["skipped"]} == {"venv", ".git"}


def test_a_model_without_a_card_but_with_a_license_is_audited(tmp_path):
    m = model(tmp_path / "m", card=None, LICENSE="MIT License\n")
    (m / "weights").mkdir()
    [snap] = read_local(str(tmp_path))
    assert isinstance(snap, Snapshot) and snap.subject == str(m) and snap.card_path is None


def test_readme_is_the_card_whatever_else_is_there(tmp_path):
    m = model(tmp_path / "m", MODEL_CARD_md="x")
    (m / "MODEL_CARD.md").write_text("---\nlicense: apache-2.0\n---\n")
    assert read_snapshot_dir(str(m)).card_path == "README.md"


def _unread_finding(tmp_path, m):
    report = audit.audit([str(m)], offline=True)
    assert not report.passed
    [finding] = [f for f in report.findings if f.rule == "file-unreadable"]
    return finding


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_a_fifo_license_fails_closed_without_blocking(tmp_path):
    m = model(tmp_path / "m")
    os.mkfifo(m / "LICENSE")
    done = threading.Event()
    result = {}

    def run():
        result["finding"] = _unread_finding(tmp_path, m)
        done.set()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(30)
    assert done.is_set(), "reading a FIFO blocked"
    assert "FIFO" in result["finding"].message


def test_a_license_link_leaving_the_snapshot_is_not_read(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("MIT License\n")
    m = model(tmp_path / "m")
    os.symlink(secret, m / "LICENSE")
    finding = _unread_finding(tmp_path, m)
    assert "outside" in finding.message and finding.outcome.value == "unknown"


def test_a_symlink_loop_is_one_clear_error(tmp_path):
    m = model(tmp_path / "m")
    os.symlink(m / "NOTICE", m / "LICENSE")
    os.symlink(m / "LICENSE", m / "NOTICE")
    report = audit.audit([str(m)], offline=True)
    messages = sorted(f.message for f in report.findings if f.rule == "file-unreadable")
    assert len(messages) == 2 and all("symbolic link loop" in msg for msg in messages) and not report.passed


def test_devices_are_refused(tmp_path):
    with pytest.raises(InputUnreadable, match="device"):
        read_text_file("/dev/zero", limit=1024)
    with pytest.raises(InputUnreadable, match="directory"):
        read_text_file(str(tmp_path), limit=1024)


def test_skipped_directories_are_in_the_json_contract(tmp_path):
    import jsonschema

    from audit.report.schemas import load_schema

    model(tmp_path / "m")
    (tmp_path / ".git").mkdir()
    res = CliRunner().invoke(main, ["check", str(tmp_path), "--format", "json", "--offline"])
    data = json.loads(res.stdout)
    assert data["skipped"] == [{"input": str(tmp_path / ".git"), "reason": "not searched: version-control metadata"}]
    jsonschema.validate(data, load_schema("report"))


def test_a_plain_file_named_directly_in_a_snapshot_is_inside_it_as_realpath_says(tmp_path, monkeypatch):
    """read_file_bytes skips realpath for a file that is no link, named directly in the snapshot directory
    (audit.sources.base._directly_in): realpath agrees it is inside, for links, links out, loops, missing files
    and odd directory spellings, and the shortcut is taken for the plain files."""
    from audit.sources.base import _directly_in

    monkeypatch.chdir(tmp_path)
    os.makedirs("a/b")
    open("a/b/f", "w").close()
    os.symlink("a/b", "lnk")
    os.symlink("../../x", "a/b/out")
    os.symlink("f", "a/b/self")
    os.symlink("loop2", "loop1")
    os.symlink("loop1", "loop2")
    os.makedirs("c")
    os.symlink(str(tmp_path / "a"), "c/abs")
    withins = ["a/b", "a/b/", "lnk", "./a/b", "a/../a/b", "a//b", str(tmp_path / "lnk"), "c/abs/b", "loop1", "", ".",
               "missing", "a/b/f"]
    taken = 0
    for within in withins:
        for name in ("f", "out", "self", "missing", ".", "..", "", "b", "f/"):
            path = os.path.join(within, name)
            if _directly_in(path, os.path.islink(path), within):
                taken += 1
                root = os.path.realpath(within)
                assert os.path.commonpath([os.path.realpath(path), root]) == root, (within, name)
    assert taken >= len(withins)  # at least 'f' in each
    assert not _directly_in("a/b/out", True, "a/b") and not _directly_in("a/b/../f", False, "a/b")


def test_a_file_that_grew_since_its_size_was_taken_is_read_to_the_limit(tmp_path, monkeypatch):
    """read_file_bytes reads the size the open file reports (plus a byte), then on to the limit if there is more:
    the same bytes, and the same refusal of a file that grew over the limit, as one read of limit + 1."""
    import types

    from audit.sources import base

    f = tmp_path / "LICENSE"
    f.write_bytes(b"x" * 100)
    real_lstat, real_fstat = os.lstat, os.fstat

    def small_lstat(p, *args, **kwargs):  # the size taken before the read (other paths: as they are)
        st = real_lstat(p, *args, **kwargs)
        return types.SimpleNamespace(st_mode=st.st_mode, st_size=3) if str(p) == str(f) else st

    monkeypatch.setattr(base.os, "lstat", small_lstat)
    monkeypatch.setattr(base.os, "fstat", lambda fd: types.SimpleNamespace(st_mode=real_fstat(fd).st_mode, st_size=3))
    assert base.read_file_bytes(str(f), limit=1000) == b"x" * 100
    assert base.read_file_bytes(str(f), limit=100) == b"x" * 100
    with pytest.raises(InputUnreadable, match="grew over"):
        base.read_file_bytes(str(f), limit=99)
