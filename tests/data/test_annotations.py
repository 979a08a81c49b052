import collections
import tarfile
from pathlib import Path

import pytest

from glad_hf.data.annotations import (
    KINETICS2BABEL_ANNOTATIONS_URL,
    AnnotationError,
    AnnotationRow,
    first_frame_number,
    media_path,
    read_annotation_list,
    read_annotation_tar,
    resolve_annotations,
)
from glad_hf.labels import K2B_LABELS, K400_CLASSES_PER_LABEL


def _raw_lists(tar_path: Path) -> dict[str, list[list[str]]]:
    # Independent of the code under test: the split fields of every row, per list.
    with tarfile.open(tar_path) as tar:
        return {
            Path(m.name).stem: [line.split() for line in tar.extractfile(m).read().decode().splitlines()]
            for m in tar.getmembers()
            if m.isfile()
        }


def test_real_lists_row_counts_and_class_histograms(shared_tar):
    lists = read_annotation_tar(shared_tar)
    assert {name: len(rows) for name, rows in lists.items()} == {
        "k400_train": 14881,
        "k400_test": 650,
        "babel_train": 2963,
        "babel_test": 452,
    }
    raw = _raw_lists(shared_tar)
    for name, rows in lists.items():
        expected = collections.Counter(int(fields[-1]) for fields in raw[name])
        assert collections.Counter(row.label for row in rows) == expected
        assert set(expected) == set(range(12)), name
    # SPEC §1: the target is imbalanced, run has 618 train rows and crawl 64.
    babel_train = collections.Counter(row.label for row in lists["babel_train"])
    assert babel_train[1] == 618 and babel_train[9] == 64


def test_real_lists_fields(shared_tar):
    lists = read_annotation_tar(shared_tar)
    raw = _raw_lists(shared_tar)
    for row, fields in zip(lists["babel_test"], raw["babel_test"], strict=True):
        assert (row.rel_path, row.offset, row.num_frames, row.label) == (
            fields[0],
            int(fields[1]),
            int(fields[2]),
            int(fields[3]),
        )
        assert row.rel_path.startswith("val/")
    for row in lists["k400_train"]:
        assert row.offset == 0
        assert row.rel_path.split("/")[0] in K400_CLASSES_PER_LABEL[K2B_LABELS[row.label]]
    first = lists["babel_test"][0]
    assert first.line_number == 1 and first.source_file.endswith("kinetics2babel/babel_test.txt")
    assert min(row.num_frames for name in ("babel_train", "babel_test") for row in lists[name]) == 15


def test_read_annotation_list_from_a_text_file(tmp_path):
    path = tmp_path / "babel_test.txt"
    path.write_text("val/000010 10 30 11\n\nval/000010 45 17 2\n")
    rows = read_annotation_list(path, "babel")
    assert rows == [
        AnnotationRow("val/000010", 10, 30, 11, 1, str(path)),
        AnnotationRow("val/000010", 45, 17, 2, 3, str(path)),
    ]


@pytest.mark.parametrize(
    "domain,line,message",
    [
        ("k400", "long_jump/abc_000000_000010 40", "expected 3 space-separated fields"),
        ("k400", "long_jump/abc_000000_000010 forty 0", "total_frames must be an integer"),
        ("k400", "long_jump/abc_000000_000010 40 12", "label 12 is outside 0-11"),
        ("k400", "long_jump/abc_000000_000010 40 -1", "label -1 is outside 0-11"),
        ("k400", "long_jump/abc_000000_000010 0 0", "total_frames must be >= 1"),
        ("k400", "long_jump/abc_000000_000010 40 3", "does not belong to label 3"),
        ("k400", "abc_000000_000010 40 0", "path must look like"),
        ("babel", "train/000001 0 20", "expected 4 space-separated fields"),
        ("babel", "test/000001 0 20 3", "starts with `train/` or `val/`"),
        ("babel", "train/000001 -2 20 3", "offset must be >= 0"),
        ("babel", "train/000001 0 20 x", "label must be an integer"),
    ],
)
def test_malformed_rows_name_file_and_line(tmp_path, media, domain, line, message):
    lists = {name: list(rows) for name, rows in media.TINY_LISTS.items()}
    lists[f"{domain}_train"].insert(1, line)  # becomes line 2
    tar_path = media.write_annotation_tar(tmp_path / "bad.tar", lists)
    with pytest.raises(AnnotationError, match=message) as error:
        read_annotation_tar(tar_path)
    assert f"bad.tar:kinetics2babel/{domain}_train.txt:2:" in str(error.value)


def test_tar_missing_a_list(tmp_path, media):
    lists = {name: rows for name, rows in media.TINY_LISTS.items() if name != "babel_test"}
    tar_path = media.write_annotation_tar(tmp_path / "three.tar", lists)
    with pytest.raises(AnnotationError, match="missing babel_test.txt"):
        read_annotation_tar(tar_path)


def test_not_a_tar(tmp_path):
    path = tmp_path / "lists.tar"
    path.write_text("hello")
    with pytest.raises(AnnotationError, match="not a readable tar"):
        read_annotation_tar(path)


def test_resolve_annotations(tmp_path, media):
    tar_path = media.write_annotation_tar(tmp_path / "k2b.tar", media.TINY_LISTS)
    assert resolve_annotations(tar_path) == str(tar_path)
    with pytest.raises(FileNotFoundError, match="does not exist") as error:
        resolve_annotations(tmp_path / "missing.tar")
    assert KINETICS2BABEL_ANNOTATIONS_URL in str(error.value)

    class FakeDownloadManager:
        def __init__(self):
            self.urls = []

        def download(self, url):
            self.urls.append(url)
            return str(tar_path)

    manager = FakeDownloadManager()
    assert resolve_annotations(None, manager) == str(tar_path)
    assert resolve_annotations("https://example.org/k2b.tar", manager) == str(tar_path)
    assert manager.urls == [KINETICS2BABEL_ANNOTATIONS_URL, "https://example.org/k2b.tar"]
    assert KINETICS2BABEL_ANNOTATIONS_URL.startswith("https://github.com/KHU-VLL/GLAD/")


def test_media_paths_and_first_frame_numbers(tmp_path):
    kinetics = AnnotationRow("slapping/--7goKgS4kc_000015_000025", 0, 300, 8, 1, "k400_test.txt")
    babel = AnnotationRow("val/008998", 62, 33, 11, 1, "babel_test.txt")
    assert media_path(tmp_path, "k400", "test", kinetics, "rawframes") == (
        tmp_path / "val" / "slapping" / "--7goKgS4kc_000015_000025"
    )
    assert media_path(tmp_path, "k400", "train", kinetics, "video") == (
        tmp_path / "train" / "slapping" / "--7goKgS4kc_000015_000025.mp4"
    )
    assert media_path(tmp_path, "babel", "test", babel, "rawframes") == tmp_path / "val" / "008998"
    assert media_path(tmp_path, "babel", "test", babel, "video") == tmp_path / "val" / "008998.mp4"
    # Kinetics rawframes are numbered from 0, BABEL's from 1; video frames are 0-based.
    assert first_frame_number("k400", "rawframes", 0) == 0
    assert first_frame_number("babel", "rawframes", 62) == 63
    assert first_frame_number("babel", "video", 62) == 62
    with pytest.raises(ValueError, match="media"):
        media_path(tmp_path, "babel", "test", babel, "frames")
