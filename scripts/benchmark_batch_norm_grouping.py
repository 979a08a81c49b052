"""Stage-2 training steps/s and peak memory: per-group batch norm (the reference: one backbone call per domain and
view kind) vs one fused call.

Timing: both models (same weights, same batches) step in turn, round by round, in this process. Peak memory: each
mode runs the same steps again in a fresh child process, which reports how far its resident memory (sampled every
millisecond) rose above what it held before the first step. Usage: python scripts/benchmark_batch_norm_grouping.py [--size 64] [--batch 4]
"""

import argparse
import multiprocessing
import threading
import time

import psutil
import torch

from glad_hf import GladConfig, GladForVideoClassification

MODES = ("per_group", "fused")


def make_model(mode: str, depth: int) -> GladForVideoClassification:
    torch.manual_seed(0)
    config = (
        GladConfig.tiny(batch_norm_grouping=mode) if depth == 18 else GladConfig(batch_norm_grouping=mode)
    )
    return GladForVideoClassification(config).train()


def make_batch(batch: int, size: int, seed: int):
    generator = torch.Generator().manual_seed(seed)
    source = torch.randn(batch, 8, 3, 8, size, size, generator=generator)
    target = torch.randn(batch, 8, 3, 8, size, size, generator=generator)
    return source, target, torch.randint(12, (batch,), generator=generator)


def train_step(model, optimizer, source, target, labels) -> None:
    out = model(source, labels=labels, target_pixel_values=target)
    optimizer.zero_grad()
    out.loss.backward()
    optimizer.step()


def peak_memory_child(mode: str, args, queue) -> None:
    """Resident memory sampled every millisecond by a thread while the steps run, minus the level before them."""
    torch.set_num_threads(args.threads)
    model = make_model(mode, args.depth)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    batches = [make_batch(args.batch, args.size, seed) for seed in range(args.rounds)]
    process = psutil.Process()
    before, peak, running = process.memory_info().rss, [0], [True]

    def sample() -> None:
        while running[0]:
            peak[0] = max(peak[0], process.memory_info().rss)
            time.sleep(0.001)

    sampler = threading.Thread(target=sample)
    sampler.start()
    for source, target, labels in batches:
        train_step(model, optimizer, source, target, labels)
    running[0] = False
    sampler.join()
    queue.put((peak[0] - before) / 2**20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=64, help="frame height = width")
    parser.add_argument("--batch", type=int, default=4, help="videos per domain")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--depth", type=int, default=18, choices=[18, 50], help="18 = GladConfig.tiny(), 50 = I3D"
    )
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    models = {mode: make_model(mode, args.depth) for mode in MODES}
    models["fused"].load_state_dict(models["per_group"].state_dict())
    optimizers = {mode: torch.optim.SGD(m.parameters(), lr=1e-3, momentum=0.9) for mode, m in models.items()}
    seconds = dict.fromkeys(MODES, 0.0)
    for mode in MODES:  # warm-up
        train_step(models[mode], optimizers[mode], *make_batch(args.batch, args.size, 99))
    for round_index in range(args.rounds):
        batch = make_batch(args.batch, args.size, round_index)
        for mode in MODES:
            start = time.perf_counter()
            train_step(models[mode], optimizers[mode], *batch)
            seconds[mode] += time.perf_counter() - start

    context = multiprocessing.get_context("spawn")
    peaks = {}
    for mode in MODES:
        queue = context.Queue()
        child = context.Process(target=peak_memory_child, args=(mode, args, queue))
        child.start()
        peaks[mode] = queue.get()
        child.join()

    name = "GladConfig.tiny()" if args.depth == 18 else "I3D R50-NL"
    print(
        f"{name}, CPU ({args.threads} threads), {args.batch} source + {args.batch} target videos of 8x8 frames at "
        f"{args.size}x{args.size}, {args.rounds} rounds\n"
    )
    print("| batch-norm grouping | backbone calls / step | steps/s | relative | peak memory rise (MiB) |")
    print("|---|---|---|---|---|")
    base = args.rounds / seconds["per_group"]
    for mode in MODES:
        rate = args.rounds / seconds[mode]
        calls = 4 if mode == "per_group" else 1
        print(f"| {mode} | {calls} | {rate:.2f} | {rate / base:.2f}x | {peaks[mode]:.0f} |")


if __name__ == "__main__":
    main()
