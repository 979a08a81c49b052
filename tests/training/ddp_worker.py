"""Run by `accelerate launch` in test_train_glad.py: a tiny training in each process, then per-rank evidence
(parameter checksum, source rows this rank loaded) written next to the run."""

import json
import sys
from pathlib import Path

from accelerate import PartialState

from glad_hf.data import video_datasets
from glad_hf.training.arguments import parse_arguments
from glad_hf.training.run import run_training

loaded_rows: list[int] = []
original_getitem = video_datasets.GladClipDataset.__getitem__


def recording_getitem(self, index):
    if not self.test_mode:  # the source training set (train-mode sampling)
        loaded_rows.append(int(index))
    return original_getitem(self, index)


video_datasets.GladClipDataset.__getitem__ = recording_getitem

if __name__ == "__main__":
    data_args, model_args, train_args = parse_arguments(sys.argv[1:])
    results = run_training(data_args, model_args, train_args)
    state = PartialState()
    model = results["glad"].model  # this process's own copy of the trained weights
    checksum = float(sum(p.detach().double().sum() for p in model.parameters()))
    evidence = {
        "rank": state.process_index,
        "world": state.num_processes,
        "rows": loaded_rows,
        "checksum": checksum,
    }
    Path(train_args.output_dir, f"rank{state.process_index}.json").write_text(json.dumps(evidence))
