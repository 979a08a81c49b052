"""Torch datasets over a built Kinetics->BABEL split, and the domain-paired dataset of stage 2.

A sample's randomness (train-mode sampling and the transform's parameters) comes from
`np.random.default_rng([seed, epoch, index])` only, so it does not depend on the worker that loads it
and a resumed run sees the same samples. Call `set_epoch` before each pass (the training loop does); with
`num_workers > 0` keep `persistent_workers=False`, or the workers keep the epoch they started with.
"""

from __future__ import annotations

import logging

import numpy as np
import torch
from torch.utils.data import Dataset

from glad_hf.data.readers import DecodedVideoCache, FrameReadError, RawFrameReader, VideoFileReader
from glad_hf.data.sampling import sample_frames, view_cell_mask

_SOURCE = 0  # value of the `domain` ClassLabel for Kinetics rows
LAYOUTS = ("compact", "grid")
MAX_REPLACEMENTS = 4  # replacement rows tried for one unreadable row before the sample fails
logger = logging.getLogger(__name__)


class GladClipDataset(Dataset):
    """Stage-2 / evaluation samples of the clip grid of each row (SPEC §2, §3), decoding only the cells of `decode`
    (see `view_cell_mask`: "views" = local rows + global column, "reference_test" = last local row + global column,
    "all").

    layout:
    - "compact" (what training and evaluation use): the decoded cells as uint8, resized and cropped
      (`transform.geometry`), with the per-video draws of the rest of the augmentation; `finish_batch` makes them
      normalised float on the device. Items: {"pixel_values": uint8 [K, C, S, S] (the K cells of `decode` in
      row-major order; for "all" the grid [num_clips, C, clip_len, S, S]), "flip" / "background" /
      "background_alpha" (the transform's augmentation keys), "labels", "index"}.
    - "grid": float32 [num_clips, C, clip_len, S, S] clip grids, normalised here, zeros in the cells not decoded
      (the video processor's layout, ten times the bytes). Items: {"pixel_values", "labels", "index"}.

    Both feed the model the same view tensors. `transform` is one of `glad_hf.data.transforms`' (one set of random
    parameters for all frames of a video). Stage 2: source rows with `test_mode=False` and `VideoTrainTransform`;
    target rows with `test_mode=True` (SPEC §2). Evaluation: `test_mode=True`, `VideoTestTransform`. With
    `video_cache`, video files are decoded whole once and kept in memory (rawframes are read as usual).
    `video_backend`, `jpeg_backend`, `decode_threads`: the readers' (`glad_hf.data.readers`).

    With `replace_unreadable`, a row whose frames cannot be read (a corrupt download) is logged with its file and
    replaced by another row drawn from `(seed, epoch, index, attempt)`, so the run goes on and stays reproducible;
    items then carry "decode_failures": int64 [MAX_REPLACEMENTS], the rows that failed (-1 padded), which the
    training loop counts.
    """

    def __init__(
        self,
        hf_split,
        transform,
        test_mode: bool,
        clip_len: int = 8,
        frame_interval: int = 2,
        num_clips: int = 8,
        local_clip_indices: tuple[int, ...] = (4, 5),
        global_frame_index: int = 3,
        decode: str = "views",
        seed: int = 0,
        video_backend: str = "auto",
        video_cache: DecodedVideoCache | None = None,
        layout: str = "compact",
        replace_unreadable: bool = False,
        jpeg_backend: str = "auto",
        decode_threads: int = 1,
    ):
        if layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
        self.hf_split = hf_split
        self.transform = transform
        self.layout = layout
        self.replace_unreadable = replace_unreadable
        self.test_mode = test_mode
        self.clip_len = clip_len
        self.frame_interval = frame_interval
        self.num_clips = num_clips
        self.cell_mask = view_cell_mask(num_clips, clip_len, local_clip_indices, global_frame_index, decode)
        self.seed = seed
        self.epoch = 0
        self.rawframe_reader = RawFrameReader(backend=jpeg_backend)
        self.video_reader = VideoFileReader(video_backend, num_threads=decode_threads)
        self.video_cache = video_cache

    def __len__(self) -> int:
        return len(self.hf_split)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    @property
    def frames_decoded(self) -> int:
        """Frames decoded so far by this dataset's readers (in this process)."""
        return self.rawframe_reader.frames_decoded + self.video_reader.frames_decoded

    def segment_length(self, row: dict) -> int:
        """Frames in a row's segment: the list's count, except for a video row whose count is read from the
        container: one with no count (`num_frames < 0`: the whole video from `start_index`) and a source video
        starting at frame 0 (a Kinetics clip, as mmaction's VideoDataset does). Any other video segment (a
        BABEL segment) must end within its video."""
        if row["media"] == "rawframes":
            if row["num_frames"] < 0:
                raise FrameReadError(
                    f"{row['video_id']}: a rawframe row needs its frame count, got num_frames={row['num_frames']}"
                )
            return row["num_frames"]
        if self.video_cache is not None:
            video_frames = self.video_cache.num_frames(self.video_reader, row["path"])
        else:
            video_frames = self.video_reader.num_frames(row["path"])
        start = row["start_index"]
        if row["num_frames"] < 0:
            if start >= video_frames:
                raise FrameReadError(
                    f"{row['video_id']} starts at frame {start}, beyond the end of its video {row['path']}, "
                    f"which has {video_frames} frames"
                )
            return video_frames - start
        if row["domain"] == _SOURCE and start == 0:
            return video_frames
        end = start + row["num_frames"]
        if end > video_frames:
            raise FrameReadError(
                f"segment frames {start}-{end - 1} of {row['video_id']} end beyond its video "
                f"{row['path']}, which has {video_frames} frames"
            )
        return row["num_frames"]

    def read_segment_frames(self, row: dict, indices: np.ndarray) -> torch.Tensor:
        """uint8 `[F, C, H, W]` frames at 0-based segment `indices` of a row (rawframes named by the row's
        `frame_template` where it has one)."""
        numbers = row["start_index"] + np.asarray(indices, dtype=np.int64)
        if row["media"] == "rawframes":
            frames = self.rawframe_reader.read(row["path"], numbers, row.get("frame_template"))
        elif self.video_cache is not None:
            frames = self.video_cache.read(self.video_reader, row["path"], numbers)
        else:
            frames = self.video_reader.read(row["path"], numbers)
        return torch.from_numpy(frames).permute(0, 3, 1, 2)

    def __getitem__(self, index: int) -> dict:
        return self.sample(index, self.epoch)

    def sample(self, index: int, epoch: int) -> dict:
        """Row `index` as drawn in `epoch` (the item `__getitem__` gives after `set_epoch(epoch)`)."""
        failures: list[int] = []
        row_index, rng = index, np.random.default_rng([self.seed, epoch, index])
        while True:
            try:
                item = self._sample_row(row_index, rng)
                break
            except FrameReadError as error:
                if not self.replace_unreadable or len(failures) == MAX_REPLACEMENTS:
                    raise
                failures.append(row_index)
                rng = np.random.default_rng([self.seed, epoch, index, len(failures)])
                row_index = int(rng.integers(len(self)))
                logger.warning(f"{error}; replaced by row {row_index} in epoch {epoch}")
        if self.replace_unreadable:
            item["decode_failures"] = torch.tensor(failures + [-1] * (MAX_REPLACEMENTS - len(failures)))
        return item

    def describe_row(self, index: int) -> str:
        """A row as logs and errors name it: row N (video id, file)."""
        row = self.hf_split[index]
        return f"row {index} ({row['video_id']}, {row.get('path', 'rendered')})"

    def _sample_row(self, index: int, rng: np.random.Generator) -> dict:
        row = self.hf_split[index]
        # Drawn first, so the transform's parameters do not depend on how many draws sampling makes.
        generator = torch.Generator().manual_seed(int(rng.integers(2**63 - 1)))
        try:
            indices = sample_frames(
                self.segment_length(row),
                self.clip_len,
                self.frame_interval,
                self.num_clips,
                self.test_mode,
                rng,
            )
            unique, inverse = np.unique(indices[self.cell_mask], return_inverse=True)
            frames = self.read_segment_frames(row, unique)
        except FrameReadError as error:
            raise FrameReadError(f"row {index} ({row['video_id']}): {error}") from error
        inverse = torch.from_numpy(inverse)
        if self.layout == "compact":
            frames, augmentation = self.transform.geometry(frames, generator)  # uint8 [U, C, S, S]
            cells = take_frames(frames, inverse)  # [K, C, S, S], row-major over the cell mask
            if self.cell_mask.all():
                cells = (
                    cells.view(self.num_clips, self.clip_len, *cells.shape[1:]).transpose(1, 2).contiguous()
                )
            return {"pixel_values": cells, **augmentation, "labels": row["label"], "index": index}
        frames = self.transform(frames, generator).to(torch.float32)  # [U, C, S, S]
        # np.zeros (calloc) leaves the cells nobody uses on untouched zero pages, where torch.zeros would write
        # all of them; frames are written in place into the [N, C, T, S, S] layout (no permuted copy).
        shape = (self.num_clips, frames.shape[1], self.clip_len, *frames.shape[2:])
        pixel_values = torch.from_numpy(np.zeros(shape, dtype=np.float32))
        cells = pixel_values.permute(0, 2, 1, 3, 4)  # a view [N, T, C, S, S]
        cells[torch.from_numpy(self.cell_mask)] = frames[inverse]
        return {"pixel_values": pixel_values, "labels": row["label"], "index": index}


def take_frames(frames: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
    """`frames[indices]`: uint8 `[U, C, H, W]` -> `[K, C, H, W]`, in the frames' memory layout and in a tensor that owns
    exactly its bytes (so a worker hands over no more); returned as they are when `indices` is `0..U-1` and they
    already own exactly their bytes.

    Copied whole frame by whole frame: advanced indexing of a channels-last tensor runs element by element, 4-9x
    slower than `index_select` on the frames' natural layout (measured on 224² uint8 frames).
    """
    if (
        len(indices) == len(frames)
        and bool((indices == torch.arange(len(frames))).all())
        and frames.storage_offset() == 0
        and frames.untyped_storage().nbytes() == frames.numel() * frames.element_size()
        and (frames.is_contiguous() or frames.is_contiguous(memory_format=torch.channels_last))
    ):
        return frames
    channels_last = frames.stride(1) < frames.stride(3)
    natural = frames.permute(0, 2, 3, 1) if channels_last else frames
    if natural.is_contiguous():
        taken = torch.index_select(natural, 0, indices)
    else:  # a crop's view: whole-frame copies beat index_select's strided gather
        taken = torch.empty((len(indices), *natural.shape[1:]), dtype=frames.dtype)
        for slot, index in enumerate(indices.tolist()):
            taken[slot].copy_(natural[index])
    return taken.permute(0, 3, 1, 2) if channels_last else taken


class TemporalOrderDataset(GladClipDataset):
    """Stage-1 (TOL, SPEC §6) samples: `num_clips` train-mode clips in temporal order, all frames decoded.

    Source rows use `frame_interval=2`, target rows `frame_interval=1`; `transform` is the TOL resize
    (`VideoResizeTransform`). Items: {"pixel_values": [num_clips, C, clip_len, S, S] (uint8 in the compact layout,
    normalised float in the grid layout), "labels", "index"}; other arguments are `GladClipDataset`'s.
    """

    def __init__(
        self,
        hf_split,
        transform,
        frame_interval: int,
        num_clips: int = 3,
        clip_len: int = 8,
        seed: int = 0,
        **kwargs,
    ):
        super().__init__(
            hf_split,
            transform,
            test_mode=False,
            clip_len=clip_len,
            frame_interval=frame_interval,
            num_clips=num_clips,
            local_clip_indices=(0,),
            global_frame_index=0,
            decode="all",
            seed=seed,
            **kwargs,
        )


class DomainPairedDataset(Dataset):
    """Stage-2 items (SPEC §7): source item `i` with a target item, as the model's keyword arguments.

    An epoch is one pass over `source`. The target cycles: the `len(source)` slots of epoch `e` are filled by
    consecutive permutations of the target (passes `e * passes_per_epoch + k`, each drawn from
    `default_rng([seed, pass])`), so every target item is used about equally often and a shuffling sampler over
    the slots pairs each source batch with random target items. Both parts draw their per-sample randomness from
    the epoch (`set_epoch`), the target from its pass. Prepare it like any dataset: samplers, sharding and
    mid-epoch resumption are the loader's.
    Items: the source item's keys, and the target item's prefixed with "target_" ("target_pixel_values",
    "target_index", …; not its labels).
    """

    def __init__(self, source: GladClipDataset, target: GladClipDataset, seed: int = 0):
        if len(target) == 0:
            raise ValueError("the target dataset has no item to pair with the source")
        self.source = source
        self.target = target
        self.seed = seed
        self.epoch = 0
        self.passes_per_epoch = max(1, -(-len(source) // len(target)))
        self._target_orders: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.source)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
        self.source.set_epoch(epoch)

    def target_slot(self, index: int) -> tuple[int, int]:
        """(target index, target pass) paired with source item `index` in this epoch."""
        target_pass = self.epoch * self.passes_per_epoch + index // len(self.target)
        return int(self.target_order(target_pass)[index % len(self.target)]), target_pass

    def target_order(self, target_pass: int) -> np.ndarray:
        """The permutation of the target items in pass `target_pass`, drawn once per pass and process (an epoch
        has a few passes), not once per item."""
        if target_pass not in self._target_orders:
            if len(self._target_orders) >= 2 * self.passes_per_epoch:
                self._target_orders.clear()
            rng = np.random.default_rng([self.seed, target_pass])
            self._target_orders[target_pass] = rng.permutation(len(self.target))
        return self._target_orders[target_pass]

    def __getitem__(self, index: int) -> dict:
        item = self.source[index]
        target_index, target_pass = self.target_slot(index)
        target = self.target.sample(target_index, target_pass)
        item.update({f"target_{key}": value for key, value in target.items() if key != "labels"})
        return item

    def describe_row(self, index: int, *, target: bool = False) -> str:
        return (self.target if target else self.source).describe_row(index)
