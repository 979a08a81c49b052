"""Background debiasing (SPEC §5): temporal-median backgrounds of the source videos and BackgroundBlend.

``extract_backgrounds`` writes, for every source training video, the per-pixel temporal median of its frames as
one JPEG under an output root that mirrors the video's relative path (``<out>/<class>/<ytid>_<start>_<end>.jpg``).
``BackgroundBlend`` mixes one of those images into every frame of a source video during stage-2 training.
"""

import os
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torchvision.transforms.v2 import functional as F
from tqdm.auto import tqdm

from glad_hf.atomic import atomic_path
from glad_hf.data.readers import VIDEO_EXTENSIONS, FrameReadError, VideoFileReader, read_frames
from glad_hf.data.sharding import check_shard, shard_items
from glad_hf.data.transforms import resize_short_side

BACKGROUND_SUFFIXES = (".jpg", ".jpeg", ".png")


def median_background(frames: np.ndarray) -> np.ndarray:
    """Per-pixel temporal median of a video: uint8 [F, H, W, 3] -> uint8 [H, W, 3].

    As in the reference (utils/extract_median_by_rawframes.py), the median of an even number of frames is the
    mean of the two middle values, truncated to uint8.
    """
    if not isinstance(frames, np.ndarray) or frames.ndim != 4 or frames.shape[-1] != 3 or len(frames) == 0:
        shape = frames.shape if isinstance(frames, np.ndarray) else type(frames).__name__
        raise ValueError(f"median_background expects uint8 frames [F>0, H, W, 3], got {shape}")
    return np.median(frames, axis=0).astype(np.uint8)


class BackgroundBlend:
    """Blend a random temporal-median background into every frame of a video (SPEC §5).

    With probability ``p`` per video, one background image is drawn from ``background_dir`` (all *.jpg, *.jpeg,
    *.png below it), resized to short side ``short_side`` and centre-cropped to the frames' size, and every
    frame becomes ``alpha * frame + (1 - alpha) * background``. Labels are unchanged.

    Args:
        background_dir: folder written by ``extract_backgrounds``.
        p: probability of blending a video.
        alpha: weight of the original frame.
        image_size: expected frame size S; None takes it from the frames.
        short_side: short side the background is resized to before the centre crop; None keeps the reference's
            ratio 256 / 224 of the crop size (256 for S = 224).

    Call: ``frames`` float32 [F, C, S, S] in 0-255, ``generator`` torch.Generator -> float32 [F, C, S, S].
    """

    def __init__(
        self,
        background_dir: str | os.PathLike,
        p: float = 0.25,
        alpha: float = 0.75,
        image_size: int | None = None,
        short_side: int | None = None,
    ):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"BackgroundBlend: p must be in [0, 1], got {p}")
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"BackgroundBlend: alpha must be in [0, 1], got {alpha}")
        self.background_dir = Path(background_dir)
        if not self.background_dir.is_dir():
            raise FileNotFoundError(
                f"BackgroundBlend: background_dir {self.background_dir} does not exist; "
                "write it first with scripts/extract_backgrounds.py"
            )
        self.paths = sorted(
            path
            for path in self.background_dir.rglob("*")
            if path.suffix.lower() in BACKGROUND_SUFFIXES and path.is_file()
        )
        if not self.paths:
            raise ValueError(
                f"BackgroundBlend: no background images ({', '.join(BACKGROUND_SUFFIXES)}) under "
                f"{self.background_dir}; write them first with scripts/extract_backgrounds.py"
            )
        self.p = p
        self.alpha = alpha
        self.image_size = image_size
        self.short_side = short_side

    def __len__(self) -> int:
        return len(self.paths)

    def load_background(self, index: int, size: int) -> torch.Tensor:
        """Background ``index`` as uint8 [3, size, size] (short-side resize, then centre crop)."""
        path = self.paths[index]
        try:
            with Image.open(path) as image:
                pixels = np.asarray(image.convert("RGB"))
        except OSError as error:
            raise OSError(f"BackgroundBlend: cannot read background image {path}: {error}") from error
        background = torch.from_numpy(pixels.copy()).permute(2, 0, 1)
        short_side = self.short_side if self.short_side is not None else round(size * 256 / 224)
        background = resize_short_side(background[None], max(short_side, size))[0]
        height, width = background.shape[-2:]
        return F.crop(background, (height - size) // 2, (width - size) // 2, size, size)

    def draw(self, size: int, generator: torch.Generator | None = None) -> tuple[torch.Tensor, float]:
        """One video's draw: (uint8 background [3, size, size], weight of the video's frames); a video not drawn for
        blending gets zeros and weight 1.0, so that ``weight * frames + (1 - weight) * background`` (the blend, done by
        ``glad_hf.data.transforms.finish_frames`` where the frames are) leaves it unchanged."""
        if self.image_size is not None and size != self.image_size:
            raise ValueError(
                f"BackgroundBlend: frames are {size}x{size}, expected image_size={self.image_size}"
            )
        if torch.rand(1, generator=generator).item() >= self.p:
            return torch.zeros(3, size, size, dtype=torch.uint8), 1.0
        index = int(torch.randint(len(self.paths), (1,), generator=generator).item())
        return self.load_background(index, size), self.alpha

    def __call__(self, frames: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """float32 [F, C, S, S] in 0-255 -> float32 [F, C, S, S], blended with probability ``p``."""
        if frames.ndim != 4 or frames.shape[-1] != frames.shape[-2]:
            raise ValueError(f"BackgroundBlend expects square frames [F, C, S, S], got {tuple(frames.shape)}")
        background, weight = self.draw(frames.shape[-1], generator)
        if weight == 1.0:
            return frames
        return weight * frames.to(torch.float32) + (1.0 - weight) * background.to(torch.float32)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(background_dir={str(self.background_dir)!r}, backgrounds={len(self.paths)}, "
            f"p={self.p}, alpha={self.alpha})"
        )


@dataclass(frozen=True)
class BackgroundTask:
    """One median to compute: frames ``first .. first + count - 1`` of ``source`` (a rawframe folder, file
    numbers; or a video file, 0-based frame indices) -> ``output`` JPEG."""

    source: str
    media: str
    first: int
    count: int
    output: str


def _read_task_frames(task: BackgroundTask) -> np.ndarray:
    if task.media == "rawframes":
        return read_frames(task.source, "rawframes", range(task.first, task.first + task.count))
    # A video may hold fewer frames than its row says (lists count extracted rawframes): use those it has.
    reader = VideoFileReader()
    last = min(task.first + task.count, reader.num_frames(task.source))
    if last <= task.first:
        raise FrameReadError(
            f"video {task.source} has no frames in [{task.first}, {task.first + task.count})"
        )
    return reader.read(task.source, range(task.first, last))


def _extract_one(task: BackgroundTask) -> str:
    background = median_background(_read_task_frames(task))
    with atomic_path(task.output) as temporary:
        Image.fromarray(background).save(temporary, format="JPEG", quality=95)
    return task.output


def resolve_video_source(data_root: Path, rel_path: str) -> tuple[Path, str]:
    """(path, media) of a row: ``<data_root>/<rel_path>/`` rawframes or ``<data_root>/<rel_path>.<ext>`` video."""
    folder = data_root / rel_path
    if folder.is_dir():
        return folder, "rawframes"
    for extension in VIDEO_EXTENSIONS:
        video = data_root / f"{rel_path}.{extension}"
        if video.is_file():
            return video, "video"
    raise FileNotFoundError(
        f"no rawframe folder {folder}/ nor video file {folder}.{{{','.join(VIDEO_EXTENSIONS)}}} for row {rel_path!r}"
    )


def extract_backgrounds(
    data_root: str | os.PathLike,
    annotation_rows: Iterable,
    output_dir: str | os.PathLike,
    num_workers: int = 1,
    overwrite: bool = False,
    rawframe_start_index: int = 0,
    progress: bool = True,
    *,
    shard: tuple[int, int] | None = None,
) -> dict:
    """Write the temporal-median background of every row's video (SPEC §5, seed step 3).

    Args:
        data_root: folder holding the rows' relative paths (e.g. ``<k400>/train``), as rawframe folders or
            video files (``.mp4`` and other containers PyAV reads).
        annotation_rows: objects with ``rel_path``, ``offset`` and ``num_frames`` (``AnnotationRow``); frames
            ``offset .. offset + num_frames - 1`` of the video are used (file numbers shifted by
            ``rawframe_start_index`` for rawframes: 0 for Kinetics, 1 for BABEL).
        output_dir: output root; row ``a/b`` is written to ``<output_dir>/a/b.jpg`` (atomically; rows that
            share a path, the segments of one BABEL sequence, get one image, from the first of them).
        num_workers: worker processes (1 = in this process).
        overwrite: recompute existing outputs; by default they are skipped, so an interrupted run resumes.
        shard: ``(K, N)``: only the images at positions K mod N of the rows' distinct outputs, in row order
            (``glad_hf.data.sharding.shard_items``), so N machines split the rows with no coordination; None = all.

    Returns:
        {"total", "written", "skipped", "output_dir"} (counts of images, of the shard). Raises RuntimeError naming every video that failed
        (missing or unreadable), after the others are written.
    """
    shard = check_shard(shard)
    data_root, output_dir = Path(data_root), Path(output_dir)
    planned = {}
    for row in annotation_rows:  # several BABEL segments of one sequence: one background, from the first
        planned.setdefault(output_dir / f"{row.rel_path}.jpg", row)
    tasks, skipped = [], 0
    for output, row in shard_items(list(planned.items()), shard):
        if output.is_file() and not overwrite:
            skipped += 1
            continue
        source, media = resolve_video_source(data_root, row.rel_path)
        first = row.offset + (rawframe_start_index if media == "rawframes" else 0)
        tasks.append(BackgroundTask(str(source), media, first, row.num_frames, str(output)))

    failures = []
    with tqdm(total=len(tasks), desc="median backgrounds", unit="video", disable=not progress) as bar:
        if num_workers <= 1:
            for task in tasks:
                try:
                    _extract_one(task)
                except (OSError, ValueError, FrameReadError) as error:
                    failures.append((task.source, error))
                bar.update()
        else:
            with ProcessPoolExecutor(max_workers=num_workers) as executor:
                futures = {executor.submit(_extract_one, task): task for task in tasks}
                for future in as_completed(futures):
                    error = future.exception()
                    if error is not None:
                        failures.append((futures[future].source, error))
                    bar.update()
    if failures:
        listed = "\n".join(
            f"  {source}: {error}" for source, error in sorted(failures, key=lambda f: f[0])[:20]
        )
        raise RuntimeError(
            f"{len(failures)} of {len(tasks)} background extractions failed (the others were written):\n{listed}"
        )
    return {
        "total": len(tasks) + skipped,
        "written": len(tasks),
        "skipped": skipped,
        "output_dir": str(output_dir),
    }
