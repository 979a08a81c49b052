"""Generate the synthetic Kinetics->BABEL dataset (the demo's default data; see
dataset_scripts/kinetics2babel/SYNTHETIC.md).

    python scripts/make_synthetic_k2b.py --output_dir data/synthetic_k2b [--format rawframes] [--num_classes 5]

Writes <output_dir>/{k400,babel}/{train,val}, kinetics2babel.tar and synthetic_k2b.json; an existing dataset with
the same settings is reused. --preview also writes a PNG grid of source and target frames per class.
The knobs are those of glad_hf.data.synthetic.SyntheticK2BConfig (documented there and in SYNTHETIC.md).
"""

import argparse
import dataclasses

from glad_hf.data.synthetic import SyntheticK2BConfig, generate_synthetic_k2b, save_preview_grid


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--output_dir", required=True, help="dataset root to write")
    parser.add_argument("--num_workers", type=int, default=None, help="worker processes (default: CPU count)")
    parser.add_argument("--preview", default=None, help="also write a PNG preview grid to this path")
    defaults = SyntheticK2BConfig()
    for field in dataclasses.fields(SyntheticK2BConfig):
        value = getattr(defaults, field.name)
        flag = "--" + field.name
        if isinstance(value, tuple):
            parser.add_argument(
                flag,
                type=type(value[0]),
                nargs=2,
                default=value,
                metavar=("MIN", "MAX"),
                help=f"default {value}",
            )
        elif field.name == "format":
            parser.add_argument(flag, choices=["mp4", "rawframes"], default=value, help=f"default {value}")
        else:
            parser.add_argument(flag, type=type(value), default=value, help=f"default {value}")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    knobs = {field.name: getattr(args, field.name) for field in dataclasses.fields(SyntheticK2BConfig)}
    config = SyntheticK2BConfig(**{name: tuple(v) if isinstance(v, list) else v for name, v in knobs.items()})
    root = generate_synthetic_k2b(args.output_dir, config, num_workers=args.num_workers)
    print(f"synthetic K->B at {root} (config hash {config.config_hash()})")
    if args.preview:
        print(f"preview grid at {save_preview_grid(args.preview, config)}")


if __name__ == "__main__":
    main()
