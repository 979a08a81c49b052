"""Extract JPEG rawframes from videos: resumable, `--shard K/N` over machines, `--num_workers` processes.

    python scripts/prepare_rawframes.py --videos_root videos/k400 --output_root data/k400 --num_workers 4
    python scripts/prepare_rawframes.py --videos_root videos/babel --output_root data/babel --start_index 1 \
        --shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT

The same as the `glad-prepare-rawframes` command; layouts, resuming, sharding and the report format are described
in `glad_hf.data.prepare` (and `--help`).
"""

from glad_hf.data.prepare_cli import main

if __name__ == "__main__":
    main()
