import collections
import logging
import shutil
import tarfile
from pathlib import Path

import datasets
import pytest

from glad_hf.data import builder as builder_module
from glad_hf.data.annotations import AnnotationError
from glad_hf.data.builder import Kinetics2Babel, load_k2b_domains, verify_media
from glad_hf.data.readers import FrameReadError
from glad_hf.data.synthetic import SyntheticK2BConfig, generate_synthetic_k2b
from glad_hf.labels import K2B_LABELS

TINY_SYNTHETIC = SyntheticK2BConfig(
    num_classes=2,
    frame_size=16,
    source_train_per_class=2,
    source_test_per_class=1,
    source_num_frames=(16, 24),
    target_train_sequences=1,
    target_test_sequences=1,
    segments_per_sequence=(2, 2),
    target_segment_range=(16, 30),
)


def _build(config_name, data_dir, cache_dir, **options) -> datasets.DatasetDict:
    builder = Kinetics2Babel(
        config_name=config_name, data_dir=str(data_dir), cache_dir=str(cache_dir), **options
    )
    builder.download_and_prepare()
    return builder.as_dataset()


def _label_histograms(tar_path: Path) -> dict[str, collections.Counter]:
    with tarfile.open(tar_path) as tar:
        return {
            Path(m.name).stem: collections.Counter(
                int(line.split()[-1]) for line in tar.extractfile(m).read().decode().splitlines()
            )
            for m in tar.getmembers()
            if m.isfile()
        }


def test_real_lists_index_without_media(shared_tar, tmp_path):
    histograms = _label_histograms(shared_tar)
    kinetics = _build(
        "k400", tmp_path / "k400", tmp_path / "cache", annotations=str(shared_tar), media="rawframes"
    )
    babel = _build(
        "babel", tmp_path / "babel", tmp_path / "cache", annotations=str(shared_tar), media="rawframes"
    )
    assert {split: len(kinetics[split]) for split in kinetics} == {"train": 14881, "test": 650}
    assert {split: len(babel[split]) for split in babel} == {"train": 2963, "test": 452}
    for name, dataset in (("k400_train", kinetics["train"]), ("k400_test", kinetics["test"])):
        assert collections.Counter(dataset["label"]) == histograms[name]
        assert set(dataset["domain"]) == {0}
    for name, dataset in (("babel_train", babel["train"]), ("babel_test", babel["test"])):
        assert collections.Counter(dataset["label"]) == histograms[name]
        assert set(dataset["domain"]) == {1}
    assert kinetics["train"].features["label"].names == list(K2B_LABELS)
    assert babel["train"].features["domain"].names == ["source", "target"]

    # Kinetics test rows live under val/, frames numbered from 0.
    row = kinetics["test"][0]
    assert row["video_id"] == "slapping/--7goKgS4kc_000015_000025"
    assert row["path"] == str(
        (tmp_path / "k400" / "val" / "slapping" / "--7goKgS4kc_000015_000025").resolve()
    )
    assert (row["offset"], row["num_frames"], row["start_index"], row["label"]) == (0, 300, 0, 8)
    # A BABEL row's frame i is file number offset + i + 1.
    row = babel["test"][0]
    assert row["video_id"] == "val/008998"
    assert row["path"] == str((tmp_path / "babel" / "val" / "008998").resolve())
    assert (row["offset"], row["num_frames"], row["start_index"], row["label"]) == (62, 33, 63, 11)
    assert all(
        s == o + 1 for s, o in zip(babel["train"]["start_index"], babel["train"]["offset"], strict=True)
    )


def test_real_lists_video_layout_start_indices(shared_tar, tmp_path):
    babel = _build(
        "babel", tmp_path / "babel", tmp_path / "cache", annotations=str(shared_tar), media="video"
    )
    row = babel["test"][0]
    assert row["path"].endswith("/babel/val/008998.mp4") and row["media"] == "video"
    assert row["start_index"] == row["offset"] == 62


@pytest.mark.parametrize("layout", ["rawframes", "video"])
def test_auto_detects_the_layout(tiny_rawframes_root, tiny_video_root, tmp_path, media, layout):
    root = tiny_rawframes_root if layout == "rawframes" else tiny_video_root
    tar_path = str(root / "kinetics2babel.tar")
    kinetics = _build("k400", root / "k400", tmp_path / "cache", annotations=tar_path)
    babel = _build("babel", root / "babel", tmp_path / "cache", annotations=tar_path)
    assert set(kinetics["train"]["media"]) == set(babel["test"]["media"]) == {layout}
    assert len(kinetics["train"]) == 3 and len(babel["train"]) == 3 and len(babel["test"]) == 2
    for row in babel["train"]:
        expected = row["offset"] + (1 if layout == "rawframes" else 0)
        assert row["start_index"] == expected
        assert Path(row["path"]).exists()


def test_neither_layout_fails_listing_what_was_expected(tmp_path, media):
    tar_path = media.write_annotation_tar(tmp_path / "k2b.tar", media.TINY_LISTS)
    (tmp_path / "babel" / "train").mkdir(parents=True)
    with pytest.raises(FileNotFoundError) as error:
        _build("babel", tmp_path / "babel", tmp_path / "cache", annotations=str(tar_path))
    message = str(error.value)
    assert "neither rawframes nor videos" in message and "babel_train.txt" in message
    assert "babel/train/000001/img_00001.jpg" in message and "babel/train/000001.mp4" in message
    assert "media='rawframes'" in message


def test_malformed_annotations_reach_the_caller(tmp_path, media):
    lists = dict(media.TINY_LISTS, babel_test=["val/000010 10 30 11", "val/000010 45 17 12"])
    tar_path = media.write_annotation_tar(tmp_path / "k2b.tar", lists)
    with pytest.raises(AnnotationError, match=r"k2b.tar:kinetics2babel/babel_test.txt:2: label 12"):
        _build("babel", tmp_path, tmp_path / "cache", annotations=str(tar_path), media="video")


def _copy(root: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(root, copy)
    return copy


def test_verify_reports_missing_frames_and_skips_on_request(tiny_rawframes_root, tmp_path, caplog):
    root = _copy(tiny_rawframes_root, tmp_path)
    (root / "babel" / "train" / "000001" / "img_00030.jpg").unlink()  # inside segment 25+1 ... 25+40
    shutil.rmtree(root / "babel" / "train" / "000002")
    tar_path = str(root / "kinetics2babel.tar")
    with pytest.raises(FrameReadError) as error:
        _build(
            "babel", root / "babel", tmp_path / "cache", annotations=tar_path, media="rawframes", verify=True
        )
    message = str(error.value)
    assert "2 of 3 babel train rows" in message
    assert "1 of 40 frame files missing" in message and "img_00030.jpg" in message
    assert "15 of 15 frame files missing" in message and "skip_missing=True" in message

    with caplog.at_level(logging.WARNING, logger="glad_hf.data.builder"):
        babel = _build(
            "babel", root / "babel", tmp_path / "cache", annotations=tar_path, verify=True, skip_missing=True
        )
    assert len(babel["train"]) == 1 and babel["train"][0]["offset"] == 0
    assert len(babel["test"]) == 2
    assert "2 of 3 babel train rows" in caplog.text and "skipped" in caplog.text

    shutil.rmtree(root / "babel" / "train")
    with pytest.raises(FrameReadError, match="3 of 3 babel train rows .* none left to keep"):
        _build(
            "babel",
            root / "babel",
            tmp_path / "cache",
            annotations=tar_path,
            media="rawframes",
            verify=True,
            skip_missing=True,
        )


def test_verify_reports_corrupt_videos_and_segments_beyond_the_end(tiny_video_root, tmp_path, media):
    root = _copy(tiny_video_root, tmp_path)
    (root / "k400" / "val" / "squat" / "eeeeeeeeeee_000002_000012.mp4").write_bytes(b"garbage" * 50)
    media.write_mp4(root / "babel" / "val" / "000010.mp4", 50)  # segment 45 + 17 now ends beyond frame 49
    tar_path = str(root / "kinetics2babel.tar")
    kinetics = Kinetics2Babel(
        config_name="k400", data_dir=str(root / "k400"), cache_dir=str(tmp_path / "c"), annotations=tar_path
    )
    kinetics.download_and_prepare()
    problems = verify_media(kinetics.as_dataset()["test"], progress=False)
    assert len(problems) == 1 and problems[0][0] == 1 and "cannot open video" in problems[0][1]
    with pytest.raises(FrameReadError, match=r"1 of 2 babel test rows .*segment frames 45-61 end beyond"):
        _build("babel", root / "babel", tmp_path / "cache", annotations=tar_path, verify=True)


def test_synthetic_config_generates_when_absent_and_load_splits_domains(tmp_path, monkeypatch):
    generated = []

    def tiny_generate(root):
        generated.append(root)
        return generate_synthetic_k2b(root, TINY_SYNTHETIC, progress=False, num_workers=1)

    monkeypatch.setattr(builder_module, "generate_synthetic_k2b", tiny_generate)
    both = _build("synthetic", tmp_path / "synthetic", tmp_path / "cache")
    assert generated == [(tmp_path / "synthetic").resolve()]
    assert len(both["train"]) == 4 + 2 and len(both["test"]) == 2 + 2
    assert collections.Counter(both["train"]["domain"]) == {0: 4, 1: 2}
    assert set(both["train"]["media"]) == {"video"}

    domains = load_k2b_domains("synthetic", tmp_path / "synthetic", cache_dir=tmp_path / "cache")
    assert generated == [(tmp_path / "synthetic").resolve()]  # generated once, then reused
    assert set(domains) == {"source", "target"}
    assert len(domains["source"]["train"]) == 4 and set(domains["source"]["train"]["domain"]) == {0}
    assert len(domains["target"]["test"]) == 2 and set(domains["target"]["test"]["domain"]) == {1}
    assert all("/babel/" in path for path in domains["target"]["train"]["path"])

    # A root deleted and asked for again at the same path (an emptied GLAD_HF_CACHE) is generated again, not
    # looked up in the index cache under the key of its absence.
    shutil.rmtree(tmp_path / "synthetic")
    again = _build(
        "synthetic", tmp_path / "synthetic", tmp_path / "cache"
    )  # the very call of the first build
    assert generated == [(tmp_path / "synthetic").resolve()] * 2
    assert (tmp_path / "synthetic" / "synthetic_k2b.json").is_file() and len(again["train"]) == 4 + 2


def test_load_kinetics2babel_from_a_benchmark_root(tiny_rawframes_root, tmp_path):
    domains = load_k2b_domains(
        "kinetics2babel",
        tiny_rawframes_root,
        annotations=tiny_rawframes_root / "kinetics2babel.tar",
        cache_dir=tmp_path / "cache",
        verify=True,
    )
    assert len(domains["source"]["train"]) == 3 and len(domains["target"]["train"]) == 3
    assert domains["source"]["test"][1]["path"].endswith("k400/val/squat/eeeeeeeeeee_000002_000012")
    with pytest.raises(ValueError, match="dataset must be"):
        load_k2b_domains("ucf-hmdb", tiny_rawframes_root)


def test_changed_annotations_at_the_same_path_rebuild_the_index(tmp_path, media):
    tar_path = media.write_annotation_tar(tmp_path / "k2b.tar", media.TINY_LISTS)
    first = _build("babel", tmp_path / "babel", tmp_path / "cache", annotations=str(tar_path), media="video")
    assert len(first["train"]) == 3
    media.write_annotation_tar(tar_path, dict(media.TINY_LISTS, babel_train=["train/000001 0 20 3"]))
    second = _build("babel", tmp_path / "babel", tmp_path / "cache", annotations=str(tar_path), media="video")
    assert len(second["train"]) == 1


def test_configuration_errors(tmp_path):
    with pytest.raises(ValueError, match="needs data_dir"):
        Kinetics2Babel(config_name="babel", cache_dir=str(tmp_path)).download_and_prepare()
    with pytest.raises(ValueError, match="skip_missing=True needs verify=True"):
        Kinetics2Babel(
            config_name="babel", data_dir=str(tmp_path), cache_dir=str(tmp_path), skip_missing=True
        )
    with pytest.raises(ValueError, match="media must be"):
        Kinetics2Babel(config_name="babel", data_dir=str(tmp_path), cache_dir=str(tmp_path), media="frames")
    with pytest.raises(ValueError, match="not found"):
        Kinetics2Babel(config_name="ucf", data_dir=str(tmp_path), cache_dir=str(tmp_path))
