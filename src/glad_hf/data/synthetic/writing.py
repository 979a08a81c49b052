"""Writing the synthetic dataset: mp4 or rawframes per video, the annotation tar, and `generate_synthetic_k2b`
(one generator per root at a time, everything staged and moved into place, the metadata last)."""

import io
import json
import os
import shutil
import tarfile
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from pathlib import Path

import numpy as np
from filelock import FileLock
from PIL import Image
from tqdm.auto import tqdm

from glad_hf.atomic import atomic_path, atomic_write_text, recover_interrupted_save, swap_in_folder
from glad_hf.data.synthetic.config import ANNOTATION_TAR, LIST_NAMES, METADATA_FILENAME, SyntheticK2BConfig
from glad_hf.data.synthetic.plan import SourceItem, TargetItem, plan_source, plan_target, temporal_gap
from glad_hf.data.synthetic.render import render_source_video, render_target_sequence


def write_mp4(path: Path, frames: np.ndarray, fps: int) -> None:
    """uint8 RGB [F, H, W, 3] -> H.264 (or MPEG-4 Part 2 where libx264 is missing) yuv420p mp4."""
    import av

    codec = "libx264" if "libx264" in av.codecs_available else "mpeg4"
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), mode="w", format="mp4") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = "yuv420p"
        # One thread and no macroblock-tree rate control: with mbtree, x264's output on frames this small
        # depends on uninitialised heap memory (seen as a different file 1 time in ~7 for the same frames);
        # without it the file is a deterministic function of the frames. A keyframe every 32 frames keeps
        # seeks short.
        stream.options = (
            {"crf": "18", "threads": "1", "g": "32", "x264-params": "mbtree=0"}
            if codec == "libx264"
            else {"qscale": "2"}
        )
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def write_rawframes(folder: Path, frames: np.ndarray, start_number: int) -> None:
    """uint8 [F, H, W, 3] -> ``folder/img_{n:05d}.jpg`` numbered from ``start_number``."""
    folder.mkdir(parents=True, exist_ok=True)
    for number, frame in enumerate(frames, start=start_number):
        Image.fromarray(frame).save(folder / f"img_{number:05d}.jpg", quality=95)


def _write_source_item(config: SyntheticK2BConfig, item: SourceItem, root: Path) -> None:
    rng = np.random.default_rng(item.seed)
    frames = render_source_video(config, item.label, item.num_frames, item.speed, item.with_cue, rng)
    base = root / "k400" / item.split / item.rel_path
    if config.format == "mp4":
        write_mp4(base.with_name(base.name + ".mp4"), frames, config.fps)
    else:
        write_rawframes(base, frames, start_number=0)


def _write_target_item(config: SyntheticK2BConfig, item: TargetItem, root: Path) -> None:
    rng = np.random.default_rng(item.seed)
    frames, rows = render_target_sequence(config, list(item.segments), list(item.transitions), rng)
    assert tuple(rows) == item.rows, "target plan and render disagree on segment offsets"
    base = root / "babel" / item.split / item.sid
    if config.format == "mp4":
        write_mp4(base.with_name(base.name + ".mp4"), frames, config.fps)
    else:
        write_rawframes(base, frames, start_number=1)


def _write_item(args: tuple) -> None:
    config, item, root = args
    if isinstance(item, SourceItem):
        _write_source_item(config, item, root)
    else:
        _write_target_item(config, item, root)


def annotation_lists(config: SyntheticK2BConfig) -> dict[str, list[str]]:
    """The four lists in the real format: ``class/ytid_start_end total_frames label`` (k400) and
    ``split/sid offset total_frames label`` (babel)."""
    target_train = plan_target(config, "train", first_sid=0)
    target_test = plan_target(config, "val", first_sid=len(target_train))
    return {
        "k400_train": [f"{i.rel_path} {i.num_frames} {i.label}" for i in plan_source(config, "train")],
        "k400_test": [f"{i.rel_path} {i.num_frames} {i.label}" for i in plan_source(config, "val")],
        "babel_train": [f"train/{i.sid} {o} {n} {label}" for i in target_train for o, n, label in i.rows],
        "babel_test": [f"val/{i.sid} {o} {n} {label}" for i in target_test for o, n, label in i.rows],
    }


def write_annotation_tar(path: Path, lists: dict[str, list[str]]) -> None:
    """``kinetics2babel/<name>.txt`` members as in the real tar (fixed mtime/owner: byte-identical output)."""
    with tarfile.open(path, "w") as tar:
        directory = tarfile.TarInfo("kinetics2babel")
        directory.type, directory.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(directory)
        for name in LIST_NAMES:
            data = "".join(f"{line}\n" for line in lists[name]).encode()
            info = tarfile.TarInfo(f"kinetics2babel/{name}.txt")
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))


def _is_complete(root: Path, config_hash: str) -> bool:
    metadata_path = root / METADATA_FILENAME
    if not metadata_path.is_file():
        return False
    try:
        metadata = json.loads(metadata_path.read_text())
    except (OSError, json.JSONDecodeError):
        return False
    return metadata.get("config_hash") == config_hash and all(
        (root / name).exists() for name in ("k400", "babel", ANNOTATION_TAR)
    )


def _exclusive_lock(root: Path) -> FileLock:
    """One generator per root at a time (e.g. several training processes starting together); the others wait.
    `filelock` rather than `fcntl`, so that the data package imports on Windows too."""
    return FileLock(root / ".synthetic_k2b.lock")


def generate_synthetic_k2b(
    root: str | os.PathLike,
    config: SyntheticK2BConfig | None = None,
    progress: bool = True,
    num_workers: int | None = None,
) -> Path:
    """Write the synthetic K->B dataset under ``root`` and return ``root``.

    An existing dataset whose ``synthetic_k2b.json`` has the same config hash is reused as is; one with another
    hash is replaced. Everything is written in a temporary folder inside ``root`` and moved into place at the
    end, the metadata file last, so an interrupted run leaves no half dataset behind.

    Args:
        root: output folder (created). Refuses to overwrite ``k400/``, ``babel/`` or the tar there unless they
            were written by this generator.
        config: the knobs; ``SyntheticK2BConfig()`` when None.
        progress: show a progress bar.
        num_workers: worker processes; None = ``min(os.cpu_count(), 8)``; 1 = in this process.
    """
    config = config or SyntheticK2BConfig()
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    config_hash = config.config_hash()
    if _is_complete(root, config_hash):
        return root
    with _exclusive_lock(root):
        if _is_complete(root, config_hash):
            return root
        for name in ("k400", "babel"):
            recover_interrupted_save(root / name)  # a swap a killed run cut short
        outputs = [root / "k400", root / "babel", root / ANNOTATION_TAR]
        if any(path.exists() for path in outputs) and not (root / METADATA_FILENAME).is_file():
            raise FileExistsError(
                f"{root} already holds k400/, babel/ or {ANNOTATION_TAR} not written by the synthetic generator "
                f"(no {METADATA_FILENAME}); choose an empty output directory"
            )
        target_train = plan_target(config, "train", first_sid=0)
        target_test = plan_target(config, "val", first_sid=len(target_train))
        items = plan_source(config, "train") + plan_source(config, "val") + target_train + target_test
        staging = Path(tempfile.mkdtemp(dir=root, prefix=".synthetic_k2b-"))
        try:
            tasks = [(config, item, staging) for item in items]
            num_workers = min(os.cpu_count() or 1, 8) if num_workers is None else num_workers
            with tqdm(total=len(tasks), desc="synthetic K->B", unit="video", disable=not progress) as bar:
                if num_workers <= 1:
                    for task in tasks:
                        _write_item(task)
                        bar.update()
                else:
                    with ProcessPoolExecutor(max_workers=num_workers) as executor:
                        for _ in executor.map(_write_item, tasks, chunksize=4):
                            bar.update()
            lists = annotation_lists(config)
            (root / METADATA_FILENAME).unlink(missing_ok=True)  # the root is incomplete until it is back
            for name in ("k400", "babel"):
                swap_in_folder(staging / name, root / name)
            with atomic_path(root / ANNOTATION_TAR) as temporary:
                write_annotation_tar(temporary, lists)
            metadata = {
                "generator_version": config.version,
                "config_hash": config_hash,
                "config": asdict(config),
                "labels": list(config.labels),
                "counts": {name: len(lines) for name, lines in lists.items()},
            }
            if config.version == 3:
                metadata["temporal_gap"] = temporal_gap(config)
            atomic_write_text(root / METADATA_FILENAME, json.dumps(metadata, indent=2) + "\n")
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return root
