"""The one atomic writer (`glad_hf.atomic`): the target holds its old content until the new one is whole, and a
failed write leaves neither a half file nor a temporary one."""

import pytest

from glad_hf.atomic import atomic_path, atomic_write_text


def test_the_target_changes_only_when_the_block_ends(tmp_path):
    target = tmp_path / "reports" / "report.json"  # the folder is created
    assert atomic_write_text(target, "old\n") == target
    with atomic_path(target) as temporary:
        temporary.write_text("new\n")
        assert target.read_text() == "old\n"  # not swapped in yet
        assert temporary.parent == target.parent and temporary.name.startswith(".report.json.")
    assert target.read_text() == "new\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["report.json"]


def test_a_failed_write_keeps_the_old_content_and_no_temporary_file(tmp_path):
    target = tmp_path / "card.md"
    atomic_write_text(target, "kept")
    with pytest.raises(RuntimeError, match="interrupted"), atomic_path(target) as temporary:
        temporary.write_text("half")
        raise RuntimeError("interrupted")
    assert target.read_text() == "kept"
    assert [p.name for p in tmp_path.iterdir()] == ["card.md"]


def test_text_is_written_as_given(tmp_path):
    target = atomic_write_text(tmp_path / "lines.csv", "a,b\r\nç\n")
    assert target.read_bytes() == "a,b\r\nç\n".encode()
