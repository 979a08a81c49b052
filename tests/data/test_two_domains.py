import json
import logging
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from glad_hf.data import TwoDomainVideos, dropped_rows, load_two_domains
from glad_hf.data.annotations import AnnotationError
from glad_hf.data.transforms import VideoTestTransform, VideoTrainTransform
from glad_hf.data.two_domain_inputs import WHOLE_VIDEO
from glad_hf.data.video_datasets import GladClipDataset
from helpers import write_mp4 as write_avi

COLUMNS = [
    "video_id",
    "path",
    "media",
    "offset",
    "num_frames",
    "start_index",
    "label",
    "domain",
    "frame_template",
]
SMALL_CLIPS = dict(clip_len=4, frame_interval=1, num_clips=4, local_clip_indices=(1, 2), global_frame_index=1)


def as_float(frames, generator=None):
    """Stand-in transform: keeps the pixels (so frame numbers can be read back), float32."""
    return frames.to(torch.float32)


def write_lines(path: Path, lines) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines))
    return str(path)


def write_lists_domains(root: Path, media) -> dict:
    """Source: rawframes numbered from 0, classes walk/run/swim/jump, 3-field rows (and one 4-field row).
    Target: one 30-frame mp4 holding segments (4-field rows) and a whole-video row, classes run/walk/dance."""
    for name, frames in (("walk/v1", 12), ("run/v2", 12), ("swim/v3", 10)):
        media.write_rawframes(root / "source" / name, range(frames))
    media.write_mp4(root / "target" / "seq1.mp4", 30)
    return {
        "source_root": root / "source",
        "target_root": root / "target",
        "source_lists": {
            "train": write_lines(root / "s_train.txt", ["walk/v1 12 0", "run/v2 12 1", "swim/v3 10 2"]),
            "test": write_lines(root / "s_test.txt", ["walk/v1 12 0", "", "run/v2 2 8 1"]),
        },
        "target_lists": {
            "train": write_lines(
                root / "t_train.txt", ["seq1.mp4 0 10 1", "seq1.mp4 10 12 0", "seq1.mp4 22 8 2"]
            ),
            "test": write_lines(root / "t_test.txt", ["seq1.mp4 30 0"]),
        },
        "source_classes": write_lines(root / "s_classes.txt", ["walk", "run", "swim", "jump"]),
        "target_classes": write_lines(root / "t_classes.txt", ["run", "walk", "dance"]),
    }


@pytest.fixture(scope="module")
def lists_root(tmp_path_factory, media) -> Path:
    root = tmp_path_factory.mktemp("lists")
    write_lists_domains(root, media)
    return root


def lists_options(root: Path) -> dict:
    """The options of `write_lists_domains` for a root it has written (without writing again)."""
    return {
        "source_root": root / "source",
        "target_root": root / "target",
        "source_lists": {"train": str(root / "s_train.txt"), "test": str(root / "s_test.txt")},
        "target_lists": {"train": str(root / "t_train.txt"), "test": str(root / "t_test.txt")},
        "source_classes": str(root / "s_classes.txt"),
        "target_classes": str(root / "t_classes.txt"),
    }


def write_folders_domains(root: Path, media) -> dict:
    """Source: videos (mp4, avi) under train/ and test/. Target: rawframe folders numbered from 1 under train/
    and val/ (standing for test/)."""
    source, target = root / "source", root / "target"
    media.write_mp4(source / "train" / "walk" / "a.mp4", 20)
    (source / "train" / "run").mkdir(parents=True)
    write_avi(source / "train" / "run" / "b.avi", num_frames=16, height=32, width=32)
    media.write_mp4(source / "test" / "walk" / "c.MP4", 18)
    media.write_mp4(source / "test" / "run" / "d.mp4", 18)
    (source / "train" / "walk" / "notes.txt").write_text("not a video")
    (source / "train" / "walk" / ".DS_Store").write_text("")
    for split, name, frames in (("train", "walk/x", 10), ("train", "run/y", 12), ("val", "walk/z", 9)):
        media.write_rawframes(target / split / name, range(1, frames + 1))
    (target / "val" / "run").mkdir(parents=True)
    media.write_rawframes(target / "val" / "run" / "w", range(1, 11))
    return {"source_root": source, "target_root": target}


@pytest.fixture(scope="module")
def folders_root(tmp_path_factory, media) -> Path:
    root = tmp_path_factory.mktemp("folders")
    write_folders_domains(root, media)
    return root


def rows(dataset) -> list[dict]:
    return [dataset[i] for i in range(len(dataset))]


def test_lists_rawframes_from_0_and_video_segments(lists_root, tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="glad_hf.data.two_domains"):
        domains = load_two_domains("lists", **lists_options(lists_root), cache_dir=tmp_path / "cache")
    source, target = domains["source"], domains["target"]
    assert set(source) == set(target) == {"train", "test"}
    train = source["train"]
    assert list(train.features) == COLUMNS
    # No class map: the intersection, in the source class file's order.
    assert train.features["label"].names == ["walk", "run"]
    assert target["test"].features["label"].names == ["walk", "run"]
    assert train.features["domain"].names == ["source", "target"]

    assert [(r["video_id"], r["media"], r["label"], r["domain"]) for r in rows(train)] == [
        ("walk/v1", "rawframes", 0, 0),
        ("run/v2", "rawframes", 1, 0),
    ]
    assert train[0]["path"] == str(lists_root / "source" / "walk" / "v1")
    assert train[0]["frame_template"] == "img_{:05d}.jpg"
    # 4-field row: the segment starts at start_index (0) + offset.
    assert [(r["offset"], r["num_frames"], r["start_index"]) for r in rows(source["test"])] == [
        (0, 12, 0),
        (2, 8, 2),
    ]
    assert [
        (r["offset"], r["num_frames"], r["start_index"], r["label"], r["domain"])
        for r in rows(target["train"])
    ] == [
        (0, 10, 0, 0, 1),
        (10, 12, 10, 1, 1),
    ]
    assert target["test"][0]["media"] == "video"
    assert (target["test"][0]["num_frames"], target["test"][0]["label"]) == (30, 1)

    expected = {"source": {"train": {"swim": 1}, "test": {}}, "target": {"train": {"dance": 1}, "test": {}}}
    assert dropped_rows(domains) == expected
    assert dropped_rows(source["train"]) == expected
    description = train.info.description
    assert "Shared classes (2): walk, run." in description
    assert "source train 1 (swim: 1); source test 0; target train 1 (dance: 1); target test 0." in description
    assert "target train 1 (dance: 1)" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="glad_hf.data.two_domains"):  # from the cache: warned again
        cached = load_two_domains("lists", **lists_options(lists_root), cache_dir=tmp_path / "cache")
    assert cached["target"]["train"].cache_files == target["train"].cache_files
    assert caplog.text.count("target train 1 (dance: 1)") == 1


def test_the_builder_gives_four_splits(lists_root, tmp_path):
    builder = TwoDomainVideos(
        config_name="lists", **lists_options(lists_root), cache_dir=str(tmp_path / "cache")
    )
    builder.download_and_prepare()
    index = builder.as_dataset()
    assert {name: len(split) for name, split in index.items()} == {
        "source_train": 2,
        "source_test": 2,
        "target_train": 2,
        "target_test": 1,
    }


def test_lists_rawframes_from_1_with_a_frame_template_are_read_by_the_clip_dataset(tmp_path, media):
    # BABEL-style: sequence folders numbered from 1, file names `frame_0001.jpg`.
    folder = tmp_path / "target" / "seq"
    folder.mkdir(parents=True)
    for number in range(1, 41):
        Image.fromarray(media.frame_image(number)).save(folder / f"frame_{number:04d}.jpg", quality=95)
    media.write_rawframes(tmp_path / "source" / "clip", range(20))
    classes = write_lines(tmp_path / "classes.txt", ["a", "b"])
    listed = {"train": write_lines(tmp_path / "t.txt", ["seq 5 16 1", "seq 0 40 0"])}
    listed["test"] = listed["train"]
    source_list = write_lines(tmp_path / "s.txt", ["clip 20 0", "clip 20 1"])
    domains = load_two_domains(
        "lists",
        source_root=tmp_path / "source",
        target_root=tmp_path / "target",
        source_lists={"train": source_list, "test": source_list},
        target_lists=listed,
        source_classes=classes,  # one class file: both domains use it
        frame_template="frame_{:04d}.jpg",
        target_start_index=1,
        cache_dir=tmp_path / "cache",
    )
    target = domains["target"]["train"]
    assert target.features["label"].names == ["a", "b"]
    assert (target[0]["start_index"], target[0]["num_frames"], target[0]["label"]) == (6, 16, 1)
    dataset = GladClipDataset(target, as_float, layout="grid", test_mode=True, decode="all", **SMALL_CLIPS)
    item = dataset[0]
    numbers = media.frame_number_of(item["pixel_values"].permute(0, 2, 1, 3, 4).numpy())
    assert numbers.min() >= 6 and numbers.max() <= 21  # file numbers 1 + 5 ... 1 + 5 + 15
    assert item["labels"] == 1
    # One template for both domains; the source is numbered from 0.
    source = domains["source"]["train"]
    assert (source[0]["start_index"], source[0]["frame_template"]) == (0, "frame_{:04d}.jpg")


def test_explicit_media_builds_the_index_without_media(tmp_path):
    classes = write_lines(tmp_path / "classes.txt", ["a"])
    listed = {
        split: write_lines(tmp_path / f"{split}.txt", ["x/clip.avi 50 0"]) for split in ("train", "test")
    }
    domains = load_two_domains(
        "lists",
        source_root=tmp_path / "nowhere_s",
        target_root=tmp_path / "nowhere_t",
        source_lists=listed,
        target_lists=listed,
        source_classes=classes,
        media="video",
        cache_dir=tmp_path / "cache",
    )
    row = domains["target"]["test"][0]
    assert (row["media"], row["path"], row["start_index"]) == (
        "video",
        str(tmp_path / "nowhere_t" / "x/clip.avi"),
        0,
    )


@pytest.mark.parametrize("form", ["yaml", "json", "dict"])
def test_class_map_maps_and_drops_classes_and_counts_them(lists_root, tmp_path, form, caplog):
    mapping = {
        "source": {"run": "running", "walk": "walking", "swim": None},
        "target": {"walk": "walking", "run": "running"},  # dance: not listed, dropped
    }
    if form == "yaml":
        class_map = write_lines(
            tmp_path / "map.yaml",
            [
                "source:",
                "  run: running",
                "  walk: walking",
                "  swim: null",
                "target:",
                "  walk: walking",
                "  run: running",
            ],
        )
    elif form == "json":
        class_map = tmp_path / "map.json"
        class_map.write_text(json.dumps(mapping))
    else:
        class_map = mapping
    with caplog.at_level(logging.WARNING, logger="glad_hf.data.two_domains"):
        domains = load_two_domains(
            "lists", **lists_options(lists_root), class_map=class_map, cache_dir=tmp_path / "cache"
        )
    # The class map's order; source "jump" has no row, so it counts nowhere.
    assert domains["source"]["train"].features["label"].names == ["running", "walking"]
    names = domains["source"]["train"].features["label"].int2str
    assert [names(r["label"]) for r in rows(domains["source"]["train"])] == ["walking", "running"]
    assert [names(r["label"]) for r in rows(domains["target"]["train"])] == ["walking", "running"]
    assert dropped_rows(domains) == {
        "source": {"train": {"swim": 1}, "test": {}},
        "target": {"train": {"dance": 1}, "test": {}},
    }
    assert "source train 1 (swim: 1)" in caplog.text


def test_class_map_without_a_domain_keeps_its_names(lists_root, tmp_path):
    domains = load_two_domains(
        "lists",
        **lists_options(lists_root),
        class_map={"target": {"dance": "swim", "run": "run"}},
        cache_dir=tmp_path / "cache",
    )
    # The source keeps its names (its order); target "walk" is not mapped, so walk is not shared.
    assert domains["target"]["train"].features["label"].names == ["run", "swim"]
    assert dropped_rows(domains) == {
        "source": {"train": {"walk": 1}, "test": {"walk": 1}},
        "target": {"train": {"walk": 1}, "test": {}},
    }


def test_folders_of_videos_and_rawframe_folders_with_val_for_test(folders_root, tmp_path):
    domains = load_two_domains("folders", **write_options(folders_root), cache_dir=tmp_path / "cache")
    source, target = domains["source"], domains["target"]
    assert source["train"].features["label"].names == ["run", "walk"]  # folder names, sorted
    assert list(source["train"].features) == COLUMNS
    assert [
        (r["video_id"], r["media"], r["offset"], r["num_frames"], r["start_index"], r["label"], r["domain"])
        for r in rows(source["train"])
    ] == [
        ("train/run/b.avi", "video", 0, WHOLE_VIDEO, 0, 0, 0),
        ("train/walk/a.mp4", "video", 0, -1, 0, 1, 0),
    ]
    assert [r["video_id"] for r in rows(source["test"])] == ["test/run/d.mp4", "test/walk/c.MP4"]
    assert [
        (r["video_id"], r["media"], r["num_frames"], r["start_index"], r["label"], r["domain"])
        for r in rows(target["test"])
    ] == [("val/run/w", "rawframes", 10, 1, 0, 1), ("val/walk/z", "rawframes", 9, 1, 1, 1)]
    assert target["train"][0]["path"] == str(folders_root / "target" / "train" / "run" / "y")
    assert dropped_rows(domains)["source"] == {"train": {}, "test": {}}


def write_options(root: Path) -> dict:
    return {"source_root": root / "source", "target_root": root / "target"}


def test_clip_dataset_reads_every_kind_in_train_and_test_mode(folders_root, lists_root, tmp_path, media):
    folders = load_two_domains("folders", **write_options(folders_root), cache_dir=tmp_path / "cache")
    lists = load_two_domains("lists", **lists_options(lists_root), cache_dir=tmp_path / "cache")
    train_transform = VideoTrainTransform(short_side=20, crop_size=16)
    test_transform = VideoTestTransform(short_side=20, crop_size=16)
    for domains in (folders, lists):
        for domain in ("source", "target"):
            for split, test_mode, transform in (
                ("train", False, train_transform),
                ("test", True, test_transform),
            ):
                split_rows = domains[domain][split]
                dataset = GladClipDataset(split_rows, transform, test_mode=test_mode, **SMALL_CLIPS)
                for index in range(len(dataset)):
                    item = dataset[index]
                    # compact: the 10 view cells of a 4 x 4 grid with local rows (1, 2), uint8
                    assert item["pixel_values"].shape == (10, 3, 16, 16)
                    assert item["pixel_values"].dtype == torch.uint8
                    assert item["labels"] == split_rows[index]["label"]
    # A folder video's length comes from its container; every frame of it can be sampled.
    whole = GladClipDataset(
        folders["source"]["train"], as_float, layout="grid", test_mode=True, decode="all", **SMALL_CLIPS
    )
    assert [whole.segment_length(row) for row in rows(folders["source"]["train"])] == [16, 20]
    numbers = media.frame_number_of(whole[1]["pixel_values"].permute(0, 2, 1, 3, 4).numpy())
    assert numbers.min() >= 0 and numbers.max() <= 19 and len(np.unique(numbers)) > 4


def test_whole_video_row_from_a_start_index(tmp_path, media):
    video = media.write_mp4(tmp_path / "v.mp4", 20)
    row = {
        "video_id": "v",
        "path": str(video),
        "media": "video",
        "offset": 5,
        "num_frames": WHOLE_VIDEO,
        "start_index": 5,
        "label": 0,
        "domain": 1,
    }
    dataset = GladClipDataset([row], as_float, layout="grid", test_mode=True, decode="all", **SMALL_CLIPS)
    assert dataset.segment_length(row) == 15
    numbers = media.frame_number_of(dataset[0]["pixel_values"].permute(0, 2, 1, 3, 4).numpy())
    assert numbers.min() >= 5 and numbers.max() <= 19
    # A source segment with an offset keeps its list count (only a source video from frame 0 is a Kinetics clip).
    segment = {**row, "num_frames": 8, "domain": 0}
    assert dataset.segment_length(segment) == 8


def test_folders_with_different_classes_need_a_class_map(tmp_path, media):
    options = write_folders_domains(tmp_path, media)
    media.write_mp4(tmp_path / "source" / "train" / "swim" / "e.mp4", 12)
    with pytest.raises(
        ValueError, match=r"class folders of the two domains differ.*only in source: \['swim'\]"
    ):
        load_two_domains("folders", **options, cache_dir=tmp_path / "cache")
    domains = load_two_domains(
        "folders",
        **options,
        class_map={"source": {"walk": "walk", "run": "run"}},
        cache_dir=tmp_path / "cache",
    )
    assert domains["target"]["train"].features["label"].names == ["walk", "run"]
    assert dropped_rows(domains)["source"] == {"train": {"swim": 1}, "test": {}}


def test_cache_rebuilds_when_a_list_or_a_folder_changes(tmp_path, media):
    options = write_lists_domains(tmp_path / "lists", media)
    first = load_two_domains("lists", **options, cache_dir=tmp_path / "cache")
    again = load_two_domains("lists", **options, cache_dir=tmp_path / "cache")
    assert again["target"]["train"].cache_files == first["target"]["train"].cache_files
    write_lines(Path(options["target_lists"]["train"]), ["seq1.mp4 0 10 1"])
    changed = load_two_domains("lists", **options, cache_dir=tmp_path / "cache")
    assert len(first["target"]["train"]) == 2 and len(changed["target"]["train"]) == 1
    assert dropped_rows(changed)["target"]["train"] == {}
    write_lines(Path(options["source_classes"]), ["run", "walk", "swim", "jump"])
    reordered = load_two_domains("lists", **options, cache_dir=tmp_path / "cache")["source"]["train"]
    assert reordered.features["label"].names == ["run", "walk"]

    folders = write_folders_domains(tmp_path / "folders", media)
    before = load_two_domains("folders", **folders, cache_dir=tmp_path / "cache")
    media.write_mp4(tmp_path / "folders" / "source" / "train" / "walk" / "new.mp4", 12)
    after = load_two_domains("folders", **folders, cache_dir=tmp_path / "cache")
    assert (len(before["source"]["train"]), len(after["source"]["train"])) == (2, 3)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("walk/v1 12 7", r"s_train.txt:2: class id 7 is outside 0-3, the 4 classes of .*s_classes.txt"),
        ("walk/v1 12", r"s_train.txt:2: expected 3 or 4 space-separated fields"),
        ("walk/v1 a b c d", r"s_train.txt:2: expected 3 or 4 space-separated fields.* got 5"),
        ("walk/v1 twelve 0", r"s_train.txt:2: total_frames must be an integer, got 'twelve'"),
        ("walk/v1 x 12 0", r"s_train.txt:2: offset must be an integer"),
        ("walk/v1 0 0", r"s_train.txt:2: total_frames must be >= 1"),
        ("../v1 12 0", r"s_train.txt:2: path '../v1' leaves the domain root"),
        ("walk/../../v1 12 0", r"s_train.txt:2: path 'walk/../../v1' leaves the domain root"),
        ("/etc/v1 12 0", r"s_train.txt:2: path '/etc/v1' is outside the domain root"),
    ],
)
def test_bad_list_rows_name_the_file_and_line(tmp_path, media, row, message):
    options = write_lists_domains(tmp_path, media)
    write_lines(Path(options["source_lists"]["train"]), ["walk/v1 12 0", row])
    with pytest.raises(AnnotationError, match=message):
        load_two_domains("lists", **options, cache_dir=tmp_path / "cache")


def test_an_absolute_path_inside_the_root_is_accepted(tmp_path, media):
    options = write_lists_domains(tmp_path, media)
    write_lines(Path(options["source_lists"]["train"]), [f"{tmp_path / 'source' / 'walk' / 'v1'} 12 0"])
    domains = load_two_domains("lists", **options, cache_dir=tmp_path / "cache")
    assert domains["source"]["train"][0]["video_id"] == "walk/v1"


def test_missing_and_inconsistent_inputs(tmp_path, media):
    options = write_lists_domains(tmp_path, media)
    cache = tmp_path / "cache"
    missing_list = {
        **options,
        "target_lists": {**options["target_lists"], "test": str(tmp_path / "absent.txt")},
    }
    with pytest.raises(FileNotFoundError, match=r"annotation list .*absent.txt does not exist"):
        load_two_domains("lists", **missing_list, cache_dir=cache)
    with pytest.raises(FileNotFoundError, match=r"class-name file .*nope.txt does not exist"):
        load_two_domains(
            "lists", **{**options, "target_classes": str(tmp_path / "nope.txt")}, cache_dir=cache
        )
    with pytest.raises(ValueError, match=r"source_lists must be \{'train'"):
        load_two_domains(
            "lists",
            **{**options, "source_lists": {"train": options["source_lists"]["train"]}},
            cache_dir=cache,
        )
    other = write_lines(tmp_path / "other.txt", ["sit", "stand"])
    with pytest.raises(
        ValueError,
        match=r"share no class: source classes \['walk', 'run', 'swim', 'jump'\] .*; target classes \['sit', 'stand'\]",
    ):
        load_two_domains("lists", **{**options, "target_classes": other}, cache_dir=cache)
    with pytest.raises(ValueError, match=r"source classes \['crawl'\] are not among the source classes"):
        load_two_domains("lists", **options, class_map={"source": {"crawl": "walk"}}, cache_dir=cache)
    with pytest.raises(ValueError, match=r"map.yaml: expected \{'source'"):
        load_two_domains(
            "lists", **options, class_map=write_lines(tmp_path / "map.yaml", ["- a"]), cache_dir=cache
        )
    with pytest.raises(FileNotFoundError, match=r"none of the 3 rows of .*s_train.txt is under"):
        load_two_domains("lists", **{**options, "source_root": tmp_path / "empty"}, cache_dir=cache)
    only_swim = {
        **options,
        "target_lists": {
            **options["target_lists"],
            "test": write_lines(tmp_path / "d.txt", ["seq1.mp4 30 2"]),
        },
    }
    with pytest.raises(
        ValueError, match=r"no row of .*d.txt has one of the 2 shared classes \['walk', 'run'\]"
    ):
        load_two_domains("lists", **only_swim, cache_dir=cache)
    with pytest.raises(ValueError, match="only apply to config 'lists'"):
        TwoDomainVideos(config_name="folders", **{**options, "target_root": tmp_path / "source"})


def test_folder_errors_name_the_folder(tmp_path, media):
    options = write_folders_domains(tmp_path, media)
    empty = tmp_path / "empty"
    (empty / "train" / "walk").mkdir(parents=True)
    (empty / "train" / "walk" / "readme.txt").write_text("")
    (empty / "test").mkdir()
    with pytest.raises(FileNotFoundError, match=rf"no videos in target folder {empty / 'train'}: expected"):
        load_two_domains(
            "folders", source_root=options["source_root"], target_root=empty, cache_dir=tmp_path / "c"
        )
    no_test = tmp_path / "no_test"
    media.write_mp4(no_test / "train" / "walk" / "v.mp4", 8)
    with pytest.raises(
        FileNotFoundError, match=rf"target folder {no_test} has no test/ or val/ split folder"
    ):
        load_two_domains(
            "folders", source_root=options["source_root"], target_root=no_test, cache_dir=tmp_path / "c"
        )
    with pytest.raises(FileNotFoundError, match=r"target_root .*absent is not a folder"):
        load_two_domains(
            "folders",
            source_root=options["source_root"],
            target_root=tmp_path / "absent",
            cache_dir=tmp_path / "c",
        )
    (options["target_root"] / "train" / "walk" / "x" / "img_00004.jpg").unlink()
    with pytest.raises(
        ValueError,
        match=r"walk/x: 9 frames numbered 1-10 are not consecutive \(first missing: img_00004.jpg\)",
    ):
        load_two_domains("folders", **options, cache_dir=tmp_path / "c")
