"""Run directories: made private and owned by the run, filled without following links, removed."""

import os
import stat
from pathlib import Path

import pytest

from executor.sandbox.identity import RunIdentity
from executor.sandbox.workdir import (
    add_files,
    create_workdir,
    prepare_runs_dir,
    read_file,
    read_files,
    remove_workdir,
)
from tests.sandbox.support import nest, unused_identity


@pytest.fixture
def identity() -> RunIdentity:
    return unused_identity()


@pytest.fixture
def runs_dir(tmp_path: Path) -> str:
    path = str(tmp_path / "runs")
    prepare_runs_dir(path)
    return path


def test_a_workdir_is_private_to_its_uid(runs_dir: str, identity: RunIdentity) -> None:
    work = create_workdir(runs_dir, files={"main.py": b"print(1)\n"}, identity=identity)
    assert stat.S_IMODE(os.stat(runs_dir).st_mode) == 0o711
    for path in (work.root, work.box, work.tmp):
        st = os.stat(path)
        assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (identity.uid, 0o700), path
    main = Path(work.box) / "main.py"
    assert main.read_bytes() == b"print(1)\n"
    assert (main.stat().st_uid, stat.S_IMODE(main.stat().st_mode)) == (identity.uid, 0o600)


def test_add_files_makes_directories_owned_by_the_uid(runs_dir: str, identity: RunIdentity) -> None:
    work = create_workdir(runs_dir, files={}, identity=identity)
    add_files(work, {"pkg/sub/A.class": b"\xca\xfe", "B.class": b"b"}, identity=identity)
    box = Path(work.box)
    assert (box / "pkg/sub/A.class").read_bytes() == b"\xca\xfe"
    for path in (box / "pkg", box / "pkg/sub", box / "pkg/sub/A.class", box / "B.class"):
        assert path.stat().st_uid == identity.uid, path
    add_files(work, {"B.class": b"new"}, identity=identity)
    assert (box / "B.class").read_bytes() == b"new"


@pytest.mark.parametrize("path", ["../escape", "a/../../b", "", "a//b", "./a", "a/\x00"])
def test_add_files_refuses_paths_that_leave_the_box(runs_dir: str, path: str) -> None:
    work = create_workdir(runs_dir, files={}, identity=None)
    with pytest.raises(ValueError):
        add_files(work, {path: b"x"}, identity=None)


def test_add_files_never_writes_through_a_planted_link(runs_dir: str, tmp_path: Path) -> None:
    """1. A run left a symlink named like a package directory, and one named like a class
    file, pointing outside. 2. The service writes classes there. Expected: nothing outside
    changes; the file link is replaced, the directory link refused."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "A.class").write_bytes(b"keep")
    work = create_workdir(runs_dir, files={}, identity=None)
    os.symlink(outside, os.path.join(work.box, "pkg"))
    os.symlink(outside / "A.class", os.path.join(work.box, "A.class"))
    add_files(work, {"A.class": b"new"}, identity=None)
    assert not os.path.islink(os.path.join(work.box, "A.class"))
    with pytest.raises(OSError):
        add_files(work, {"pkg/A.class": b"new"}, identity=None)
    assert (outside / "A.class").read_bytes() == b"keep"


def test_remove_workdir_removes_everything_at_any_depth(runs_dir: str) -> None:
    work = create_workdir(runs_dir, files={"a": b"1"}, identity=None)
    nest(Path(work.tmp), 300)
    remove_workdir(work)
    assert os.listdir(runs_dir) == []


def test_read_file_follows_no_link_and_opens_no_fifo(runs_dir: str, tmp_path: Path) -> None:
    """1. A box holding a regular file, a symlink to a file outside, a FIFO, and a directory
    link. 2. Each is read. Expected: the regular file's first bytes only; None for the others,
    at once (a FIFO nobody writes to would block a plain open)."""
    work = create_workdir(runs_dir, files={"message.txt": b"hello world"}, identity=None)
    outside = tmp_path / "secret"
    outside.write_bytes(b"secret")
    box = Path(work.box)
    (box / "link.txt").symlink_to(outside)
    os.mkfifo(box / "fifo.txt")
    (box / "dir").symlink_to(tmp_path)
    assert read_file(work, "message.txt", max_bytes=5) == b"hello"
    assert read_file(work, "link.txt", max_bytes=100) is None
    assert read_file(work, "fifo.txt", max_bytes=100) is None
    assert read_file(work, "dir/secret", max_bytes=100) is None
    assert read_file(work, "missing.txt", max_bytes=100) is None
    with pytest.raises(ValueError):
        read_file(work, "../message.txt", max_bytes=100)


def test_read_files_takes_what_a_compiler_wrote_within_bounds(
    runs_dir: str, tmp_path: Path
) -> None:
    work = create_workdir(runs_dir, files={"Main.java": b"class Main {}"}, identity=None)
    add_files(work, {"Main.class": b"\xca\xfe", "pkg/A.class": b"a"}, identity=None)
    (Path(work.box) / "planted").symlink_to(tmp_path)
    os.mkfifo(Path(work.box) / "pkg" / "fifo")
    found = read_files(work, skip={"Main.java"}, max_files=10, max_bytes=100)
    assert found == {"Main.class": b"\xca\xfe", "pkg/A.class": b"a"}
    assert read_files(work, skip={"Main.java"}, max_files=1, max_bytes=100) is None
    assert read_files(work, skip={"Main.java"}, max_files=10, max_bytes=2) is None


def test_add_files_makes_empty_directories(runs_dir: str, identity: RunIdentity) -> None:
    work = create_workdir(runs_dir, files={}, identity=identity)
    add_files(work, {"judge/input": b"1"}, identity=identity, directories=["judge/feedback"])
    feedback = Path(work.box) / "judge" / "feedback"
    assert feedback.is_dir() and list(feedback.iterdir()) == []
    assert feedback.stat().st_uid == identity.uid


def test_a_workdir_that_cannot_be_filled_leaves_nothing(
    runs_dir: str, identity: RunIdentity
) -> None:
    """1. A file name the file system refuses (longer than 255 bytes). Expected: OSError, and no
    directory left in the runs directory."""
    with pytest.raises(OSError):
        create_workdir(runs_dir, files={"ok.py": b"", "A" * 300: b""}, identity=identity)
    assert os.listdir(runs_dir) == []
