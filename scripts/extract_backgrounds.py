"""Write the temporal-median background of every source training video (SPEC §5; the reference's seed step 3).

    python scripts/extract_backgrounds.py --data_root data/k400/train \
        --annotations data/kinetics2babel.tar --output_dir data/median/k400/train --num_workers 8

Reads rawframe folders or video files; outputs mirror the rows' paths (`<output_dir>/<class>/<video>.jpg`).
Existing outputs are skipped, so an interrupted run resumes where it stopped. `--shard K/N` splits the rows over
N machines or a Slurm array (`--shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT`), as prepare_rawframes.py does.
"""

import argparse
import os

from glad_hf.data.annotations import read_annotation_list, read_annotation_tar
from glad_hf.data.background import extract_backgrounds
from glad_hf.data.sharding import shard_argument


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data_root", required=True, help="folder holding the rows' paths, e.g. <k400>/train"
    )
    parser.add_argument(
        "--annotations", required=True, help="kinetics2babel.tar, or one list file such as k400_train.txt"
    )
    parser.add_argument(
        "--list",
        default="k400_train",
        choices=["k400_train", "k400_test", "babel_train", "babel_test"],
        help="which list of the tar (or which format a .txt list has); default: k400_train",
    )
    parser.add_argument("--output_dir", required=True, help="output root of the background images")
    parser.add_argument("--num_workers", type=int, default=os.cpu_count(), help="worker processes")
    parser.add_argument("--overwrite", action="store_true", help="recompute backgrounds that already exist")
    parser.add_argument(
        "--shard",
        type=shard_argument,
        default=None,
        metavar="K/N",
        help="only the rows' videos at positions K mod N (0 <= K < N), e.g. "
        "$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT",
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    domain = args.list.split("_")[0]
    if args.annotations.endswith(".tar"):
        rows = read_annotation_tar(args.annotations)[args.list]
    else:
        rows = read_annotation_list(args.annotations, domain)
    summary = extract_backgrounds(
        args.data_root,
        rows,
        args.output_dir,
        num_workers=args.num_workers,
        overwrite=args.overwrite,
        rawframe_start_index=1 if domain == "babel" else 0,
        shard=args.shard,
    )
    shard = f" (shard {args.shard[0]}/{args.shard[1]})" if args.shard else ""
    print(
        f"backgrounds in {summary['output_dir']}{shard}: written {summary['written']}, "
        f"skipped (already there) {summary['skipped']}, total {summary['total']}"
    )


if __name__ == "__main__":
    main()
