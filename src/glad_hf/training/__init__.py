"""Training of GLAD with Accelerate: one loop (`loop.train`), three small stages (`stages/`), one methods table
(`methods`) and one experiments module (`experiments`).

    scripts/train_glad.py ── arguments.parse_arguments ──> DataArguments, ModelArguments, GladTrainingArguments
            │                 (over recipes.RECIPES[--dataset], then --config, then flags; printed, saved as recipe.yaml)
            v
    run.run_training ── preflight.check_arguments (every argument check, before anything is written)
            │           set_up_run: output_dir.plan_output_dir (resume | refuse | overwrite, per stage, against
            │           stage_recipe's <stage>/recipe.json), stage_datasets.load_domains ──> {"source", "target"}
            │           DatasetDicts (the K->B or two-domain builder), preflight.check_data  (docs/safe_runs.md)
            │           resolve_stages: each stage's arguments resolved once; run_stages; finish_run
            │
            ├─ stage 0 (synthetic only)  stages/pretrain.py ─────── motion clips ────────┐   cached by recipe in
            │                                                                             │   <cache>/pretrained/
            ├─ stage 1  stages/temporal_order.py ── TemporalOrderDataset (both domains) ──┤
            │                                                                             v
            └─ stage 2  stages/glad.py ── DomainPairedDataset (source i + target) ──> loop.train(TrainingPlan)
                 (GLAD, and source-only with                                 prepare, resume, accumulate, clip,
                  --compare_source_only: methods.METHODS)                    skip non-finite steps, log,
                                                                             checkpointing (+ progress.json)
            the datasets yield compact uint8 view cells (+ flip / background draws, unreadable rows replaced);
            per batch guards.count_unreadable_rows counts the replaced rows, then data.transforms.finish_batch makes normalised float
            on the device (evaluation does the same), and compute_loss feeds the model
            each stage ──> outputs: last/ (best/), metrics.json, curves.png, confusion_matrix.png, complete.json
            run ──> results.json; glad_hf.hub: run_sync.HubPublisher (--push_to_hub, --hub_strategy) ──>
                    background.BackgroundHubUploader (model folders with remote_code); --resume_from_checkpoint hub:
                    run_sync.download_stage_state

    scripts/ablate.py, scripts/benchmark_synthetic.py ──> experiments.run_experiments (methods x seeds, each a
        run_training) ──> experiments.write_report: <name>.json, .md (results_table), .png
    scripts/evaluate_glad.py ── parse_arguments(DataArguments, EvaluationArguments) ──> evaluation.evaluate_checkpoint
        (classes checked against the dataset's) ──> outputs (metrics.json, confusion_matrix.png)
"""
