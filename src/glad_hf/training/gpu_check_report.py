"""The GPU check's report as markdown: the machine, then one row per measurement (`make gpu-check`)."""

from __future__ import annotations


def _figure(value, spec: str = ".2f", unit: str = "") -> str:
    return "—" if value is None else f"{value:{spec}}{unit}"


def report_table(report: dict) -> str:
    """The check as markdown: the machine, then one row per measurement (failed parts name their error)."""
    env = report.get("environment", {})
    settings = report["settings"]
    lines = []
    if report["dry_run"]:
        lines.append(
            "**Dry run on the CPU** (no CUDA device): the tiny model at 32 px; no figure below is a GPU's.\n"
        )
    lines += [
        f"Machine: {env.get('device_name', '?')}"
        + (f", {env['device_memory_gib']:.0f} GiB" if "device_memory_gib" in env else "")
        + f", {env.get('cpu_count', '?')} CPU cores; torch {env.get('torch', '?')}, CUDA {env.get('cuda')}, "
        f"cuDNN {env.get('cudnn')}; decoders: video {', '.join(env.get('video_decoders', [])) or 'none'}, "
        f"JPEG {', '.join(env.get('jpeg_decoders', [])) or 'none'}"
        + (f"; missing: {', '.join(env['missing_dependencies'])}" if env.get("missing_dependencies") else ""),
        "",
        f"Model {settings['model_size']} at {settings['crop_size']}², {settings['batch_size']} + "
        f"{settings['batch_size']} clips per step, mixed precision {settings['mixed_precision']}, "
        f"{settings['workers']} loader workers, mini K→B rawframes ({settings['num_videos']} videos per domain).",
        "",
        "| part | figure | value |",
        "|---|---|---:|",
    ]
    for name in (
        "environment",
        "data",
        "throughput_eager",
        "throughput_compiled",
        "jpeg_decoding",
        "training_cli",
    ):
        part = report.get(name)
        if isinstance(part, dict) and "error" in part:
            lines.append(f"| {name} | **failed** | {part['error'][:120]} |")
    for name, label in (("throughput_eager", "eager"), ("throughput_compiled", "torch.compile")):
        part = report.get(name) or {}
        if "model_only_steps_per_s" not in part:
            continue
        lines += [
            f"| stage 2, {label} | model only, steps/s | {_figure(part['model_only_steps_per_s'])} |",
            f"| stage 2, {label} | with the real loader, steps/s | {_figure(part['with_loader_steps_per_s'])} |",
            f"| stage 2, {label} | loader / model only | {_figure(100 * part['loader_fraction_of_model_only'], '.0f', ' %')} |",
            f"| stage 2, {label} | peak device memory | {_figure(part['peak_device_memory_gib'], '.1f', ' GiB')} |",
        ]  # fmt: skip
    eager, compiled = report.get("throughput_eager") or {}, report.get("throughput_compiled") or {}
    if "model_only_steps_per_s" in eager and "model_only_steps_per_s" in compiled:
        gain = compiled["model_only_steps_per_s"] / eager["model_only_steps_per_s"]
        lines.append(f"| stage 2 | torch.compile / eager, model only | {gain:.2f}× |")
    for where, rate in (report.get("jpeg_decoding") or {}).items():
        if where not in ("error", "traceback"):
            lines.append(f"| JPEG decoding (torchcodec) | {where}, frames/s | {rate:.0f} |")
    cli = report.get("training_cli") or {}
    if "resumed_run" in cli:
        killed, resumed = cli["killed_run"], cli["resumed_run"]
        lines += [
            f"| training CLI | first run killed after its first stage-2 checkpoint | "
            f"{'yes, at ' + ', '.join(killed['checkpoints_at_kill']) if killed['killed'] else 'no (it finished first)'} |",
            f"| training CLI | the same command resumed: stage-2 steps to the end | {resumed['glad_steps']} |",
            f"| training CLI | stage-2 steps/s (resumed part) | {_figure(resumed['glad_steps_per_s'])} |",
            f"| training CLI | CLI / model only (eager) | "
            f"{_figure(100 * report['cli_fraction_of_model_only'] if 'cli_fraction_of_model_only' in report else None, '.0f', ' %')} |",
            f"| training CLI | peak device memory | {_figure(resumed['peak_device_memory_gib'], '.1f', ' GiB')} |",
            f"| evaluation | {cli['evaluation']['videos']} target test videos | {cli['evaluation']['seconds']:.1f} s |",
        ]  # fmt: skip
        syncs = cli.get("syncs")
        if syncs:
            lines.append(f"| training CLI | host-device syncs per optimiser step | {syncs['per_step']:.1f} |")
            for site, count in syncs["in_steps"].items():
                per_step = count / syncs["optimizer_steps"]
                lines.append(f"| sync per step | `{site}` | {per_step:.2f} |")
    lines.append("")
    lines.append(
        "Seconds per part: " + ", ".join(f"{k} {v:.0f}" for k, v in report.get("seconds", {}).items())
    )
    return "\n".join(lines)
