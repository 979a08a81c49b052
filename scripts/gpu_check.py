"""Does glad_hf work on this machine's GPU, and how fast? (`make gpu-check`)

Environment, stage-2 throughput (model only vs the real loader, eager vs torch.compile, bf16, peak memory), the
training entry point on a mini Kinetics->BABEL (killed after a checkpoint, resumed by the same command, host-device
syncs per step named, evaluation): one markdown table and one JSON. Without CUDA it is a tiny dry run on the CPU.

    python scripts/gpu_check.py                          # -> gpu_check/gpu_check.json, gpu_check/gpu_check.md
    python scripts/gpu_check.py --quick                  # the training entry point alone (about a minute on an H200)
    python scripts/gpu_check.py --output-dir /tmp/check --work-dir /scratch/gpu_check
"""

import argparse
import tempfile
from pathlib import Path

import torch

from glad_hf.training.gpu_check import GpuCheckSettings, run_gpu_check
from glad_hf.training.gpu_check_report import report_table


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--output-dir", type=Path, default=Path("gpu_check"), help="where the JSON and table go"
    )
    parser.add_argument(
        "--work-dir", type=Path, default=None, help="data and training run (default: temporary)"
    )
    parser.add_argument("--quick", action="store_true", help="the training entry point alone, shorter")
    args = parser.parse_args()
    if args.output_dir.exists() and not args.output_dir.is_dir():
        parser.error(f"--output-dir {args.output_dir} is a file, not a folder")
    args.output_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as temp_dir:
        device = "cuda" if torch.cuda.is_available() else "cpu"
        settings = GpuCheckSettings.for_device(device, quick=args.quick)
        report = run_gpu_check(args.work_dir or Path(temp_dir), args.output_dir / "gpu_check.json", settings)
    table = report_table(report)
    (args.output_dir / "gpu_check.md").write_text(table + "\n")
    print("\n" + table)
    print(f"\nJSON: {args.output_dir / 'gpu_check.json'}; table: {args.output_dir / 'gpu_check.md'}")


if __name__ == "__main__":
    main()
