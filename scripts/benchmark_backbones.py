"""Training speed of one GLAD stage-2 step (forward + backward, source and target batches, per-group batch norm)
over each backbone family at small size, on CPU.

Every model gets the same clip grids; steps are interleaved round by round in one process so that the machine's load
weighs on all alike. The table gives parameters, median steps/s and the speed relative to the I3D row.
Usage: python scripts/benchmark_backbones.py [--size 32] [--batch 2] [--rounds 5] [--threads 2]
"""

import argparse
import statistics
import time

import torch

from glad_hf import GladConfig, GladForVideoClassification

TINY_TRANSFORMER = dict(hidden_size=64, num_hidden_layers=1, num_attention_heads=2, intermediate_size=128)


def backbone_configs(size: int) -> dict[str, GladConfig]:
    """One small GLAD per backbone family (64-d features, but for torchvision's fixed networks)."""
    transformer = dict(TINY_TRANSFORMER, image_size=size, patch_size=16, num_frames=8)
    return {
        "I3D ResNet3d (tiny, resnet3d)": GladConfig.tiny("resnet3d"),
        "TSM ResNet (tiny, tsm)": GladConfig.tiny("tsm"),
        "VideoMAE (tiny, transformers)": GladConfig.tiny(
            "transformers", backbone_config=dict(transformer, model_type="videomae", tubelet_size=2)
        ),
        "TimeSformer (tiny, transformers)": GladConfig.tiny(
            "transformers", backbone_config=dict(transformer, model_type="timesformer")
        ),
        **{
            f"{name} (torchvision)": GladConfig.tiny("torchvision", backbone_config={"model_name": name})
            for name in ("mc3_18", "r3d_18", "s3d", "swin3d_t")  # mvit_v2_s takes 16x224x224 views only
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=32, help="frame height = width (a multiple of 16)")
    parser.add_argument("--batch", type=int, default=2, help="videos per domain per step")
    parser.add_argument("--rounds", type=int, default=5, help="timed steps per backbone")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    models = {
        name: GladForVideoClassification(config).train()
        for name, config in backbone_configs(args.size).items()
    }
    source = torch.randn(args.batch, 8, 3, 8, args.size, args.size)
    target = torch.randn(args.batch, 8, 3, 8, args.size, args.size)
    labels = torch.arange(args.batch) % 12

    def step(model) -> float:
        start = time.perf_counter()
        model(source, labels=labels, target_pixel_values=target).loss.backward()
        seconds = time.perf_counter() - start
        model.zero_grad(set_to_none=True)
        return seconds

    seconds = {name: [] for name in models}
    for model in models.values():
        step(model)  # warm-up
    for _ in range(args.rounds):
        for name, model in models.items():
            seconds[name].append(step(model))

    rates = {name: 1.0 / statistics.median(times) for name, times in seconds.items()}
    base = rates[next(iter(rates))]
    print(
        f"GLAD stage-2 step (forward + backward), CPU ({args.threads} threads), {args.batch} source + {args.batch} "
        f"target videos x 8x8 frames at {args.size}x{args.size}, median of {args.rounds} rounds\n"
    )
    print("| backbone | parameters (backbone / total) | steps/s | relative to I3D |")
    print("|---|---|---|---|")
    for name, model in models.items():
        backbone = sum(p.numel() for p in model.glad.backbone.parameters())
        total = sum(p.numel() for p in model.parameters())
        print(f"| {name} | {backbone:,} / {total:,} | {rates[name]:.2f} | {rates[name] / base:.2f}x |")


if __name__ == "__main__":
    main()
