"""scripts/prepare_rawframes.py and glad_hf.data.prepare: videos -> rawframe folders, resumable and sharded; the
shard of scripts/extract_backgrounds.py."""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from glad_hf.data import prepare
from glad_hf.data.annotations import AnnotationRow, first_frame_number, media_path
from glad_hf.data.background import extract_backgrounds
from glad_hf.data.prepare import prepare_rawframes, read_prepare_reports
from glad_hf.data.prepare_cli import main as prepare_main
from glad_hf.data.readers import RawFrameReader, VideoFileReader
from glad_hf.data.sharding import check_shard, parse_shard, shard_items
from glad_hf.data.transforms import resize_short_side
from glad_hf.data.video_listing import PrepareArgumentError, plan_videos
from helpers import write_mp4 as write_noise_mp4

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "scripts" / "prepare_rawframes.py"


def files_below(root: Path) -> dict[str, bytes]:
    """{relative path: content} of the frame files below root (reports left out)."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.startswith("prepare-report")
    }


def noise_mp4(path: Path, num_frames: int, height: int = 48, width: int = 64) -> Path:
    """mpeg4 video of a moving square on noise (tests/helpers.py), its folder created."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_noise_mp4(path, num_frames, height=height, width=width)


def no_temp_folders(root: Path) -> bool:
    return not [p for p in root.rglob("*") if ".tmp-" in p.name]


@pytest.fixture
def mixed_folder(tmp_path, media) -> tuple[Path, Path]:
    """videos/ with 2 good mp4s, a corrupt one, a 2-frame one and one whose output exists already; out/."""
    videos, out = tmp_path / "videos", tmp_path / "out"
    media.write_mp4(videos / "clapping" / "aaa.mp4", 12, size=48)  # frame i encodes i
    noise_mp4(videos / "jogging" / "bbb.mp4", 10)
    (videos / "jogging" / "ccc.mp4").write_bytes(b"\x00garbage, not a video" * 10)
    media.write_mp4(videos / "squat" / "ddd.mp4", 2, size=16)
    media.write_mp4(videos / "squat" / "eee.mp4", 5, size=16)
    (videos / "squat" / "notes.txt").write_text("not a video")
    (videos / "squat" / ".hidden.mp4").write_bytes(b"skipped: hidden")
    done = out / "squat" / "eee"
    done.mkdir(parents=True)
    (done / "img_00001.jpg").write_bytes(b"made by an earlier run")
    os.utime(done / "img_00001.jpg", (1, 1))
    return videos, out


def test_a_folder_becomes_rawframes_skipping_done_and_reporting_bad_videos(mixed_folder, media):
    videos, out = mixed_folder
    report = prepare_rawframes(videos, out, start_index=1, short_side=32, min_frames=3, progress=False)
    assert {k: report.counts[k] for k in (*prepare.STATUSES, "total")} == {
        "written": 2,
        "done_earlier": 1,
        "missing": 0,
        "unreadable": 1,
        "too_short": 1,
        "total": 5,
    }
    # Frames numbered from start_index, in order, short side 32 (48x48 -> 32x32, 48x64 -> 32x43).
    assert sorted(p.name for p in (out / "clapping" / "aaa").iterdir()) == [
        f"img_{n:05d}.jpg" for n in range(1, 13)
    ]
    frames = RawFrameReader().read(out / "clapping" / "aaa", range(1, 13))
    assert frames.shape == (12, 32, 32, 3)
    assert media.frame_number_of(frames).tolist() == list(range(12))
    assert RawFrameReader().read(out / "jogging" / "bbb", range(1, 11)).shape == (10, 32, 43, 3)
    # Bad videos leave nothing; the finished folder is untouched.
    assert not (out / "jogging" / "ccc").exists() and not (out / "squat" / "ddd").exists()
    kept = out / "squat" / "eee" / "img_00001.jpg"
    assert kept.read_bytes() == b"made by an earlier run" and kept.stat().st_mtime == 1
    assert no_temp_folders(out)

    document = json.loads((out / "prepare-report.json").read_text())
    assert document["format"] == "glad_hf.prepare_rawframes" and document["shard"] is None
    by_key = {row["key"]: row for row in document["videos"]}
    assert [row["video"] for row in document["videos"]] == [
        "clapping/aaa.mp4",
        "jogging/bbb.mp4",
        "jogging/ccc.mp4",
        "squat/ddd.mp4",
        "squat/eee.mp4",
    ]
    assert by_key["clapping/aaa"] == {
        "video": "clapping/aaa.mp4",
        "key": "clapping/aaa",
        "status": "written",
        "frames": 12,
        "reason": "",
    }
    assert by_key["squat/eee"]["status"] == "done_earlier"
    assert by_key["jogging/ccc"]["status"] == "unreadable" and "ccc.mp4" in by_key["jogging/ccc"]["reason"]
    assert (by_key["squat/ddd"]["status"], by_key["squat/ddd"]["frames"]) == ("too_short", 2)
    with open(out / "prepare-report.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["key"], r["status"]) for r in rows] == [(k, r["status"]) for k, r in by_key.items()]

    bad = read_prepare_reports(out)  # a folder: its prepare-report*.json
    assert sorted(bad) == ["jogging/ccc", "squat/ddd"]
    assert bad["jogging/ccc"].startswith("unreadable: cannot open video")
    assert bad["squat/ddd"].startswith("too_short: ") and "min_frames=3" in bad["squat/ddd"]
    assert read_prepare_reports([out / "prepare-report.json"]) == bad == report.bad()


def test_frames_match_decoding_and_resizing_the_video(tmp_path):
    video = noise_mp4(tmp_path / "videos" / "a.mp4", 10)
    prepare_rawframes(tmp_path / "videos", tmp_path / "out", short_side=32, progress=False)
    decoded = torch.from_numpy(VideoFileReader(backend="pyav").read(video, range(10))).permute(0, 3, 1, 2)
    expected = resize_short_side(decoded, 32).permute(0, 2, 3, 1).numpy().astype(np.int64)
    written = RawFrameReader().read(tmp_path / "out" / "a", range(10)).astype(np.int64)
    assert written.shape == expected.shape == (10, 32, 43, 3)
    error = np.abs(written - expected)
    assert error.mean() < 2.0 and np.percentile(error, 99) <= 12, (error.mean(), error.max())
    # short_side=0 keeps the size; the template names the files.
    prepare_rawframes(
        tmp_path / "videos",
        tmp_path / "full",
        short_side=0,
        template="{:04d}.jpg",
        quality=90,
        progress=False,
    )
    full = RawFrameReader("{:04d}.jpg").read(tmp_path / "full" / "a", range(10)).astype(np.int64)
    assert full.shape == (10, 48, 64, 3)
    assert np.abs(full - decoded.permute(0, 2, 3, 1).numpy()).mean() < 2.5


def test_a_killed_run_resumes_without_redoing_finished_videos(tmp_path, media, monkeypatch):
    videos, out = tmp_path / "videos", tmp_path / "out"
    for name in "abcde":
        media.write_mp4(videos / "class" / f"{name}.mp4", 3, size=16)
    real_extract = prepare.extract_rawframes
    calls = []

    class Killed(BaseException):
        pass

    def dies_on_the_third_video(video_path, output_dir, **settings):
        calls.append(Path(output_dir).name)
        if len(calls) == 3:  # killed mid-video: half-written frames in its temporary folder
            partial = Path(f"{output_dir}.tmp-999999")
            partial.mkdir()
            (partial / "img_00000.jpg").write_bytes(b"half")
            raise Killed
        return real_extract(video_path, output_dir, **settings)

    monkeypatch.setattr(prepare, "extract_rawframes", dies_on_the_third_video)
    with pytest.raises(Killed):
        prepare_rawframes(videos, out, short_side=0, progress=False)
    assert sorted(p.name for p in (out / "class").iterdir()) == ["a", "b", "c.tmp-999999"]
    assert not (out / "prepare-report.json").exists()
    finished = {name: (out / "class" / name / "img_00000.jpg").stat().st_mtime_ns for name in "ab"}

    monkeypatch.setattr(prepare, "extract_rawframes", real_extract)
    report = prepare_rawframes(videos, out, short_side=0, progress=False)
    assert (
        report.counts["written"],
        report.counts["done_earlier"],
        report.counts["stale_temps_removed"],
    ) == (
        3,
        2,
        1,
    )
    assert [r.status for r in report.results] == ["done_earlier"] * 2 + ["written"] * 3
    assert sorted(p.name for p in (out / "class").iterdir()) == list("abcde")
    assert {name: (out / "class" / name / "img_00000.jpg").stat().st_mtime_ns for name in "ab"} == finished
    assert all(len(list((out / "class" / name).iterdir())) == 3 for name in "abcde")


def test_shards_partition_the_videos_and_together_equal_one_run(tmp_path, media):
    videos = tmp_path / "videos"
    for index in range(7):
        media.write_mp4(videos / f"class{index % 2}" / f"v{index}.mp4", 2, size=16)
    (videos / "class0" / "broken.mp4").write_bytes(b"not a video")
    everything = plan_videos(videos)
    shards = [plan_videos(videos, shard=(k, 3)) for k in range(3)]
    assert sorted(sum(shards, [])) == everything and len(sum(shards, [])) == len(everything) == 8
    assert shards[1] == everything[1::3]

    full = prepare_rawframes(videos, tmp_path / "full", short_side=0, progress=False)
    reports = [
        prepare_rawframes(videos, tmp_path / "sharded", short_side=0, shard=(k, 3), progress=False)
        for k in range(3)
    ]
    assert files_below(tmp_path / "sharded") == files_below(tmp_path / "full")
    assert sorted(p.name for p in (tmp_path / "sharded").glob("prepare-report*")) == [
        f"prepare-report-shard-{k}-of-3.{ext}" for k in range(3) for ext in ("csv", "json")
    ]
    assert [r.counts["total"] for r in reports] == [3, 3, 2]
    assert json.loads(Path(reports[2].json_path).read_text())["shard"] == [2, 3]
    assert read_prepare_reports(tmp_path / "sharded") == read_prepare_reports(full.json_path)
    assert list(read_prepare_reports(tmp_path / "sharded")) == ["class0/broken"]


def test_an_mmaction_list_selects_babel_renders_in_the_builders_layout(tmp_path, media):
    videos, out = tmp_path / "videos", tmp_path / "babel"
    media.write_mp4(videos / "train" / "000001.mp4", 6, size=16)
    media.write_mp4(videos / "train" / "000002.mov", 4, size=16)  # an mp4 container named .mov
    media.write_mp4(videos / "train" / "000003.mp4", 4, size=16)  # not listed
    listing = tmp_path / "babel_train.txt"
    listing.write_text(
        "# BABEL segments: several rows per sequence\n"
        "train/000001 0 3 5\ntrain/000001 2 4 1\n\ntrain/000002 0 4 3\nval/000009.mp4 0 5 2\n"
    )
    report = prepare_rawframes(videos, out, video_list=listing, start_index=1, short_side=0, progress=False)
    assert [(r.video, r.key, r.status) for r in report.results] == [
        ("train/000001.mp4", "train/000001", "written"),
        ("train/000002.mov", "train/000002", "written"),
        ("val/000009.mp4", "val/000009", "missing"),
    ]
    assert "val/000009.mp4" in report.bad()["val/000009"]
    row = AnnotationRow("train/000001", 2, 4, 1, line_number=2, source_file="babel_train.txt")
    folder = media_path(out, "babel", "train", row, "rawframes")
    assert folder == out / "train" / "000001" and not (out / "train" / "000003").exists()
    first = first_frame_number("babel", "rawframes", row.offset)
    numbers = media.frame_number_of(RawFrameReader().read(folder, range(first, first + row.num_frames)))
    assert numbers.tolist() == [2, 3, 4, 5]


def test_bad_arguments_give_clear_errors(tmp_path, media, capsys):
    assert parse_shard("2/3") == (2, 3) and check_shard(None) is None
    assert shard_items(list(range(10)), (1, 3)) == [1, 4, 7] and shard_items("abc", None) == ["a", "b", "c"]
    for text, message in [
        ("3/3", r"K must be in 0\.\.2"),
        ("x", "K/N"),
        ("1/2/3", "K/N"),
        ("0/0", "N must be"),
    ]:
        with pytest.raises(ValueError, match=message):
            parse_shard(text)
    with pytest.raises(ValueError, match="integers"):
        check_shard((0.5, 2))
    videos = tmp_path / "videos"
    media.write_mp4(videos / "a.mp4", 2, size=16)
    with pytest.raises(PrepareArgumentError, match="videos_root .*nowhere.* does not exist"):
        prepare_rawframes(tmp_path / "nowhere", tmp_path / "out", progress=False)
    with pytest.raises(PrepareArgumentError, match="quality must be an integer in 1..100"):
        prepare_rawframes(videos, tmp_path / "out", quality=0, progress=False)
    with pytest.raises(PrepareArgumentError, match="template"):
        prepare_rawframes(videos, tmp_path / "out", template="img.jpg", progress=False)
    with pytest.raises(PrepareArgumentError, match=r"shard 3/3"):
        prepare_rawframes(videos, tmp_path / "out", shard=(3, 3), progress=False)
    listing = tmp_path / "list.txt"
    listing.write_text("a.mp4 1\n../escape.mp4 2\n")
    with pytest.raises(PrepareArgumentError, match=r"list\.txt:2: .*'\.\./escape\.mp4'"):
        prepare_rawframes(videos, tmp_path / "out", video_list=listing, progress=False)
    media.write_mp4(videos / "a.mkv", 2, size=16)
    with pytest.raises(PrepareArgumentError, match="a.mkv and a.mp4"):
        prepare_rawframes(videos, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()  # nothing was started

    common = ["--videos_root", str(videos), "--output_root", str(tmp_path / "out"), "--num_workers", "0"]
    for arguments, message in [
        (["--shard", "3/3"], "K must be in 0..2"),
        (["--shard", "x"], "--shard must be K/N"),
        (["--videos_root", str(tmp_path / "nowhere")], "does not exist"),
    ]:
        with pytest.raises(SystemExit) as exit_info:
            prepare_main([*common, *arguments])
        assert exit_info.value.code == 2
        assert message in capsys.readouterr().err


def test_extract_backgrounds_with_a_shard_processes_only_its_rows(tmp_path, media):
    def row(rel_path, num_frames, offset=0):
        return AnnotationRow(rel_path, offset, num_frames, 0, line_number=1, source_file="test")

    root = tmp_path / "k400" / "train"
    names = ["a/aaaaaaaaaaa_000000_000010", "b/bbbbbbbbbbb_000000_000010", "c/ccccccccccc_000000_000010"]
    for name in names:
        media.write_rawframes(root / name, range(3), size=8)
    rows = [row(name, 3) for name in names]
    out = tmp_path / "median"
    summary = extract_backgrounds(root, rows, out, progress=False, shard=(0, 2))
    assert (summary["total"], summary["written"]) == (2, 2)
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.jpg")) == [
        f"{names[0]}.jpg",
        f"{names[2]}.jpg",
    ]
    summary = extract_backgrounds(root, rows, out, progress=False, shard=(1, 2))
    assert (summary["total"], summary["written"]) == (1, 1) and len(list(out.rglob("*.jpg"))) == 3
    # BABEL segments of one sequence are one output: shards split the distinct outputs, in row order.
    babel = tmp_path / "babel"
    for sid in ("000001", "000002"):
        media.write_rawframes(babel / "train" / sid, range(1, 7), size=8)
    segments = [row("train/000001", 2), row("train/000001", 2, offset=3), row("train/000002", 2)]
    summary = extract_backgrounds(
        babel, segments, tmp_path / "bg", rawframe_start_index=1, progress=False, shard=(1, 2)
    )
    assert summary["written"] == 1 and [p.name for p in (tmp_path / "bg").rglob("*.jpg")] == ["000002.jpg"]
    with pytest.raises(ValueError, match="K must be in 0..1"):
        extract_backgrounds(root, rows, out, progress=False, shard=(2, 2))


def test_cli_help_and_a_run_with_worker_processes(tmp_path, media):
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "--shard K/N" in result.stdout and "SLURM_ARRAY_TASK_ID" in result.stdout

    videos = tmp_path / "videos"
    media.write_mp4(videos / "x" / "one.mp4", 3, size=16)
    media.write_mp4(videos / "y" / "two.mp4", 4, size=16)
    (videos / "y" / "bad.mp4").write_bytes(b"not a video")
    command = [
        sys.executable,
        str(SCRIPT),
        "--videos_root",
        str(videos),
        "--output_root",
        str(tmp_path / "out"),
        "--num_workers",
        "2",
        "--short_side",
        "8",
        "--report_dir",
        str(tmp_path / "reports"),
        "--no_progress",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    lines = dict(line.split() for line in result.stdout.splitlines()[2:8])
    assert lines == {
        "written": "2",
        "done_earlier": "0",
        "missing": "0",
        "unreadable": "1",
        "too_short": "0",
        "total": "3",
    }
    assert "prepare-report.json" in result.stdout
    assert RawFrameReader().read(tmp_path / "out" / "y" / "two", range(4)).shape == (4, 8, 8, 3)
    assert list(read_prepare_reports(tmp_path / "reports")) == ["y/bad"]


def test_extract_backgrounds_cli_takes_a_shard(tmp_path, media):
    root = tmp_path / "k400" / "train"
    lines = ["long_jump/aaaaaaaaaaa_000000_000010 3 0", "long_jump/bbbbbbbbbbb_000000_000010 3 0"]
    for line in lines:
        media.write_rawframes(root / line.split()[0], range(3), size=8)
    listing = tmp_path / "k400_train.txt"
    listing.write_text("\n".join(lines) + "\n")
    script = REPO_ROOT / "scripts" / "extract_backgrounds.py"
    base = [sys.executable, str(script), "--data_root", str(root), "--annotations", str(listing)]
    base += ["--output_dir", str(tmp_path / "median"), "--num_workers", "1"]
    result = subprocess.run([*base, "--shard", "1/2"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "(shard 1/2): written 1" in result.stdout
    assert [p.name for p in (tmp_path / "median").rglob("*.jpg")] == ["bbbbbbbbbbb_000000_000010.jpg"]
    result = subprocess.run([*base, "--shard", "2/2"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "K must be in 0..1" in result.stderr
