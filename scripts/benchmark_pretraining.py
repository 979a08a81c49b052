"""Where the synthetic motion pre-training's time goes: rendering the clips vs the network, side by side in one run.

The demo's recipe (tiny GLAD, 32x32 frames, batches of 32 motion videos of the synthetic K->B's generator version),
measured in interleaved repeats:

1. render: the frames one batch's views use (22 per video), rendered by `render_motion_frames`;
2. data: one batch through the dataset as training reads it (rendering, geometry, collate) in this process;
3. network: forward, backward and AdamW step of the model on one fixed batch (`finish_batch` included);
4. loader: training steps/s end to end, with the rendering in the training process (`--num_workers 0`, the
   demo's setting) and in one loader worker next to a training process with one thread fewer.

Prints a markdown table (ms per step, share of a step, ratios against the in-process loader).

    python scripts/benchmark_pretraining.py --steps 20 --repeats 3
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from torch.utils.data import DataLoader, RandomSampler, default_collate

from glad_hf.data.synthetic_motions import SyntheticMotionConfig, motion_rows, render_motion_frames
from glad_hf.data.transforms import finish_batch
from glad_hf.labels import K2B_LABELS
from glad_hf.modeling_glad import GladForVideoClassification
from glad_hf.training.arguments import DataArguments, ModelArguments
from glad_hf.training.stage_datasets import motion_pretraining_datasets
from glad_hf.training.stage_models import build_config


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=20, help="batches per measurement")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved repeats of every measurement")
    parser.add_argument("--batch_size", type=int, default=32, help="motion videos per step (the demo's 32)")
    parser.add_argument("--version", type=int, default=3, choices=(2, 3), help="synthetic generator version")
    parser.add_argument(
        "--threads", type=int, default=torch.get_num_threads(), help="torch threads for training"
    )
    return parser.parse_args(argv)


def seconds_per_step(work, steps: range) -> float:
    start = time.perf_counter()
    for step in steps:
        work(step)
    return (time.perf_counter() - start) / len(steps)


def main(argv=None) -> dict:
    args = parse_args(argv)
    motions = SyntheticMotionConfig.disjoint_from(
        K2B_LABELS[:5], version=args.version, num_train_videos=2_000
    )
    data_args = DataArguments(
        dataset="synthetic", short_side=motions.frame_size, crop_size=motions.frame_size
    )
    names = dict(enumerate(motions.motions))
    config = build_config(
        ModelArguments(), None, domain_alignment=(), id2label=names, label2id={m: i for i, m in names.items()}
    )
    train_set, _ = motion_pretraining_datasets(motions, config, data_args, seed=0)
    rows = motion_rows(motions, "train")
    model = GladForVideoClassification(config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    fixed = default_collate([train_set[i] for i in range(args.batch_size)])

    def render(step: int) -> None:
        for row in rows[step * args.batch_size : (step + 1) * args.batch_size]:
            render_motion_frames(motions, row, np.linspace(0, row["num_frames"] - 1, 22).astype(int))

    def read(step: int) -> None:
        start = step * args.batch_size
        default_collate([train_set[i] for i in range(start, start + args.batch_size)])

    def train_step(batch: dict) -> None:
        batch = finish_batch(batch)
        loss = model(batch["pixel_values"], labels=batch["labels"]).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()

    def loader_steps(num_workers: int) -> float:
        threads = torch.get_num_threads()
        torch.set_num_threads(max(1, args.threads - num_workers))
        sampler = RandomSampler(train_set, num_samples=args.steps * args.batch_size)
        loader = DataLoader(train_set, batch_size=args.batch_size, sampler=sampler, num_workers=num_workers)
        try:
            start = time.perf_counter()
            for batch in loader:
                train_step(batch)
            return (time.perf_counter() - start) / args.steps
        finally:
            torch.set_num_threads(threads)

    torch.set_num_threads(args.threads)
    train_step(fixed)  # warm-up
    times = {name: [] for name in ("render", "data", "network", "loader, 0 workers", "loader, 1 worker")}
    for repeat in range(args.repeats):
        steps = range(repeat * args.steps, (repeat + 1) * args.steps)
        times["render"].append(seconds_per_step(render, steps))
        times["data"].append(seconds_per_step(read, steps))
        times["network"].append(seconds_per_step(lambda _: train_step(fixed), steps))
        times["loader, 0 workers"].append(loader_steps(0))
        times["loader, 1 worker"].append(loader_steps(1))
    median = {name: statistics.median(values) for name, values in times.items()}
    in_process = median["loader, 0 workers"]
    print(
        f"motion pre-training, version {args.version}, batches of {args.batch_size} at {motions.frame_size}x"
        f"{motions.frame_size}, {args.threads} training threads, median of {args.repeats} x {args.steps} steps\n"
    )
    print("| per step | ms | share of an in-process step | in-process step / this |")
    print("|---|---|---|---|")
    for name, seconds in median.items():
        print(f"| {name} | {1000 * seconds:.0f} | {seconds / in_process:.2f} | {in_process / seconds:.2f} |")
    return median


if __name__ == "__main__":
    main()
