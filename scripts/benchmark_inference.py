"""Inference throughput: the reference test path (last local clip + global view) vs all three views.

Both modes run the same weights on the same inputs, interleaved round by round, in one process; the table gives
videos/s and the ratio. Usage: python scripts/benchmark_inference.py [--size 112] [--batch 2] [--rounds 5]
"""

import argparse
import time

import torch

from glad_hf import GladConfig, GladForVideoClassification


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=112, help="frame height = width")
    parser.add_argument("--batch", type=int, default=2, help="videos per forward")
    parser.add_argument("--rounds", type=int, default=10, help="timed forwards per mode")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    reference = GladForVideoClassification(GladConfig()).eval()
    all_views = GladForVideoClassification(GladConfig(test_view_aggregation="all_views")).eval()
    all_views.load_state_dict(reference.state_dict())
    pixel_values = torch.randn(args.batch, 8, 3, 8, args.size, args.size)
    models = {"reference (last local + global)": reference, "all_views (2 local + global)": all_views}
    seconds = dict.fromkeys(models, 0.0)
    with torch.inference_mode():
        for model in models.values():
            model(pixel_values)  # warm-up
        for _ in range(args.rounds):
            for name, model in models.items():
                start = time.perf_counter()
                model(pixel_values)
                seconds[name] += time.perf_counter() - start

    videos = args.batch * args.rounds
    base = videos / seconds["all_views (2 local + global)"]
    print(
        f"I3D R50-NL, CPU ({args.threads} threads), {args.batch} videos x 8x8 frames at {args.size}x{args.size}, "
        f"{args.rounds} rounds\n"
    )
    print("| test path | backbone clips / video | videos/s | speed-up |")
    print("|---|---|---|---|")
    for name, model in models.items():
        clips = 2 if model.config.test_view_aggregation == "reference" else 3
        rate = videos / seconds[name]
        print(f"| {name} | {clips} | {rate:.2f} | {rate / base:.2f}x |")


if __name__ == "__main__":
    main()
