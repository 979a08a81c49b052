"""Kinetics->BABEL as a `datasets` builder (see README.md beside this file).

`datasets` 5 no longer runs dataset scripts: builders are instantiated directly. The one implementation is
`glad_hf.data.Kinetics2Babel`; this file re-exports it and, run as a script, builds the index of a local copy
and checks its media:

    python dataset_scripts/kinetics2babel/kinetics2babel.py --config babel --data-dir data/babel \
        --annotations kinetics2babel.tar --verify
"""

import argparse
import logging

from glad_hf.data.builder import Kinetics2Babel, Kinetics2BabelConfig, load_k2b_domains

__all__ = ["Kinetics2Babel", "Kinetics2BabelConfig", "load_k2b_domains"]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--config", required=True, choices=["k400", "babel", "synthetic"])
    parser.add_argument("--data-dir", required=True, help="domain root (train/, val/) or synthetic root")
    parser.add_argument("--annotations", default=None, help="path or URL of kinetics2babel.tar")
    parser.add_argument("--cache-dir", default=None, help="datasets cache (default: HF_DATASETS_CACHE)")
    parser.add_argument("--media", default="auto", choices=["auto", "rawframes", "video"])
    parser.add_argument("--verify", action="store_true", help="check that every row's frames exist")
    parser.add_argument("--skip-missing", action="store_true", help="with --verify, drop rows that fail")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    builder = Kinetics2Babel(
        config_name=args.config,
        data_dir=args.data_dir,
        annotations=args.annotations,
        cache_dir=args.cache_dir,
        media=args.media,
        verify=args.verify,
        skip_missing=args.skip_missing,
    )
    builder.download_and_prepare()
    dataset = builder.as_dataset()
    print(dataset)
    for split, rows in dataset.items():
        print(f"{split}: {len(rows)} rows, media {sorted(set(rows['media']))}")


if __name__ == "__main__":
    main()
