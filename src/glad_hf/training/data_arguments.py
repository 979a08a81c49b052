"""Where a run's videos are and how clips are sized: `DataArguments`, one of the argument dataclasses of
`scripts/train_glad.py` (see `glad_hf.training.arguments`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..data.readers import JPEG_BACKENDS, VIDEO_BACKENDS
from .options import check_choices, check_numbers, option

DATASETS = ("synthetic", "kinetics2babel", "lists", "folders")


@dataclass
class DataArguments:
    """Where the videos and annotation lists are, and how clips are sized."""

    dataset: str = option(
        "synthetic",
        help="synthetic | kinetics2babel | lists (mmaction-style lists per domain and split) | folders "
        "(<root>/<split>/<class>/<video> per domain)",
    )
    data_dir: str | None = option(
        None,
        help="Root holding k400/ and babel/ (each with train/ and val/). For the synthetic dataset it is "
        "generated there if absent (default: <cache>/glad_hf/synthetic_k2b).",
    )
    annotations: str | None = option(
        None, help="Path or URL of kinetics2babel.tar (default: the official one)."
    )
    cache_dir: str | None = option(None, help="datasets cache folder.")
    backgrounds_dir: str | None = option(
        None, help="Median backgrounds for BackgroundBlend (scripts/extract_backgrounds.py)."
    )
    # any two domains (--dataset lists | folders)
    source_dir: str | None = option(None, help="lists/folders: the source domain's root.")
    target_dir: str | None = option(None, help="lists/folders: the target domain's root.")
    source_lists: list[str] | None = option(
        None, help="lists: the source train and test lists (`path [offset] total_frames label` rows)."
    )
    target_lists: list[str] | None = option(None, help="lists: the target train and test lists.")
    source_classes: str | None = option(
        None, help="lists: the source class names, one per line (label = line number from 0)."
    )
    target_classes: str | None = option(
        None, help="lists: the target class names (default: --source_classes)."
    )
    class_map: str | None = option(
        None,
        help="JSON/YAML {source: {class: shared class or null}, target: {...}} for domains whose classes differ "
        "(rows of unmapped classes are dropped and counted); default: the classes both domains share.",
    )
    media: str = option("auto", help="lists: auto | rawframes | video.")
    frame_template: str = option("img_{:05d}.jpg", help="lists/folders: rawframe file names.")
    source_start_index: int = option(0, help="Number of a source video's first rawframe (Kinetics-style 0).")
    target_start_index: int = option(0, help="Number of a target video's first rawframe (BABEL-style 1).")
    exclude_reports: list[str] | None = option(
        None, help="Reports of scripts/prepare_rawframes.py: rows whose videos failed there are left out."
    )
    short_side: int = option(32, help="Resize the short side to this before cropping.")
    crop_size: int = option(32, help="Network input height = width.")
    num_workers: int = option(0, help="DataLoader workers per process.")
    prefetch_factor: int = option(
        2, help="Batches each DataLoader worker loads ahead (with --num_workers > 0)."
    )
    pin_memory: bool = option(
        False,
        help="Pin the loaders' batches in page-locked memory (faster copies to a GPU; no use on the CPU).",
    )
    video_backend: str = option(
        "auto", help=f"{' | '.join(VIDEO_BACKENDS)}: video decoder (auto: the fastest installed)"
    )
    jpeg_backend: str = option("auto", help=f"{' | '.join(JPEG_BACKENDS)}: rawframe JPEG decoder")
    decode_threads: int = option(
        1, help="Decoding threads per DataLoader worker (or per process without workers)."
    )
    max_unreadable_fraction: float = option(
        0.01,
        help="A training video that fails to decode is logged and replaced by another row; past this fraction of "
        "an epoch's rows (distinct unreadable rows), the run stops and lists them.",
    )
    max_eval_samples: int | None = option(
        None,
        help="Score only this many videos of each evaluation split (a fixed random subset, seed 0), as transformers' "
        "example scripts do: for smoke runs and quick checks; the scores are then not the split's.",
    )
    video_cache_mb: int | None = option(
        None,
        help="Keep whole decoded videos in memory, up to this many MiB per process (0 = off): each video "
        "is decoded once. For datasets that fit in memory; None = 2048 for the synthetic dataset, 0 otherwise.",
    )

    def __post_init__(self):
        check_choices(self, dataset=DATASETS)
        if self.dataset in ("lists", "folders"):
            self._check_two_domains()
        for report in self.exclude_reports or []:
            if not Path(report).exists():
                raise ValueError(f"--exclude_reports: no such report file or folder {report}")
        if self.dataset == "kinetics2babel" and not self.data_dir:
            raise ValueError("--dataset kinetics2babel needs --data_dir (a folder with k400/ and babel/)")
        if self.data_dir and self.dataset == "kinetics2babel" and not Path(self.data_dir).is_dir():
            raise ValueError(f"--data_dir {self.data_dir} is not a folder")
        if self.backgrounds_dir and not Path(self.backgrounds_dir).is_dir():
            raise ValueError(f"--backgrounds_dir {self.backgrounds_dir} is not a folder")
        if self.video_cache_mb is None:
            self.video_cache_mb = 2048 if self.dataset == "synthetic" else 0
        check_choices(self, video_backend=VIDEO_BACKENDS, jpeg_backend=JPEG_BACKENDS)
        check_numbers(
            self,
            at_least_1="short_side crop_size prefetch_factor decode_threads max_eval_samples",
            at_least_0="num_workers video_cache_mb",
            fraction="max_unreadable_fraction",
        )
        if self.crop_size > self.short_side:
            raise ValueError(f"--crop_size {self.crop_size} is larger than --short_side {self.short_side}")

    def _check_two_domains(self) -> None:
        """--dataset lists | folders: the domain roots (and lists) exist; K->B's --data_dir is not theirs."""
        if self.data_dir:
            raise ValueError(
                f"--data_dir is the Kinetics->BABEL/synthetic root; with --dataset {self.dataset} give --source_dir "
                "and --target_dir"
            )
        files = {"--source_dir": self.source_dir, "--target_dir": self.target_dir}
        if self.dataset == "lists":
            for domain in ("source", "target"):
                lists = getattr(self, f"{domain}_lists") or []
                if len(lists) != 2:
                    raise ValueError(
                        f"--dataset lists needs --{domain}_lists TRAIN_LIST TEST_LIST, got {lists}"
                    )
                files.update({f"--{domain}_lists {path}": path for path in lists})
            if not self.source_classes:
                raise ValueError("--dataset lists needs --source_classes (class names, one per line)")
            files["--source_classes"] = self.source_classes
            files["--target_classes"] = self.target_classes
        files["--class_map"] = self.class_map
        for flag, path in files.items():
            if flag.endswith("_dir") and not path:
                raise ValueError(f"--dataset {self.dataset} needs {flag}")
            if path and not Path(path).exists():
                raise ValueError(f"{flag}: no such file or folder {path}")
