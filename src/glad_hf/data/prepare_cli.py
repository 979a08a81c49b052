"""The command line of ``glad_hf.data.prepare.prepare_rawframes``: ``glad-prepare-rawframes`` and
``python scripts/prepare_rawframes.py``."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

from glad_hf.data import prepare
from glad_hf.data.prepare import prepare_rawframes
from glad_hf.data.readers import FRAME_FILENAME_TEMPLATE, VIDEO_EXTENSIONS
from glad_hf.data.sharding import shard_argument
from glad_hf.data.video_listing import PrepareArgumentError


def default_num_workers() -> int:
    """CPU cores this process may use (Slurm's allocation, not the node's), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="glad-prepare-rawframes",
        description=prepare.__doc__.split("\n\n")[0],
        epilog="examples:"
        + prepare.__doc__.split("arguments)::", 1)[1].split("Which videos")[0].rstrip()
        + "\n\nLayouts, resuming, sharding and the report format: the docstring of glad_hf.data.prepare.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--videos_root", required=True, help="folder of the videos")
    parser.add_argument("--output_root", required=True, help="folder of the rawframe folders (mirrors it)")
    parser.add_argument(
        "--list",
        default=None,
        help="text file of videos relative to videos_root, one per line (first column of mmaction rows; "
        "extension found on disk when absent); default: every video file below videos_root",
    )
    parser.add_argument(
        "--start_index", type=int, default=0, help="number of the first frame file: 0 Kinetics, 1 BABEL"
    )
    parser.add_argument("--template", default=FRAME_FILENAME_TEMPLATE, help="frame file names")
    parser.add_argument("--short_side", type=int, default=256, help="short side of the frames; 0 = keep size")
    parser.add_argument("--quality", type=int, default=95, help="JPEG quality 1-100")
    parser.add_argument(
        "--min_frames", type=int, default=1, help="fewer decodable frames: reported too_short, not kept"
    )
    parser.add_argument(
        "--extensions", nargs="+", default=list(VIDEO_EXTENSIONS), help="video file extensions to look for"
    )
    parser.add_argument(
        "--num_workers",
        type=int,
        default=default_num_workers(),
        help="worker processes (default: the cores this process may use); 0 = in this process",
    )
    parser.add_argument(
        "--shard",
        type=shard_argument,
        default=None,
        metavar="K/N",
        help="only the videos at positions K mod N of the sorted list (0 <= K < N), e.g. "
        "$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT",
    )
    parser.add_argument("--report_dir", default=None, help="where the report goes (default: output_root)")
    parser.add_argument("--no_progress", action="store_true", help="no progress bar")
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Command line of ``prepare_rawframes``; prints the summary table."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        report = prepare_rawframes(
            args.videos_root,
            args.output_root,
            video_list=args.list,
            start_index=args.start_index,
            template=args.template,
            short_side=args.short_side,
            quality=args.quality,
            min_frames=args.min_frames,
            extensions=args.extensions,
            num_workers=args.num_workers,
            shard=args.shard,
            report_dir=args.report_dir,
            progress=not args.no_progress,
        )
    except PrepareArgumentError as error:
        parser.error(str(error))
    print(report.summary())


if __name__ == "__main__":
    main()
