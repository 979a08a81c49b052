# `make demo`: both training stages on the built-in synthetic Kinetics->BABEL (no downloads).
# `make test`: the test suite. Each target creates the virtual environment on first use.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
export HF_HUB_OFFLINE ?= 1
export HF_HUB_DISABLE_TELEMETRY := 1

.PHONY: install demo test lint benchmark-synthetic benchmark-stage1-sweep gpu-check ffmpeg-libraries

$(VENV)/.installed: setup.cfg pyproject.toml
	$(MAKE) ffmpeg-libraries
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.14.1 torchvision==0.29.1
	$(PY) -m pip install -q -e ".[dev,decord,torchcodec]"
	touch $@

# FFmpeg's shared libraries, which torchcodec loads (the fastest decoder here; PyAV brings its own FFmpeg). Installed
# with apt-get where it is available and allowed; elsewhere, install FFmpeg 4-8 yourself (docs/data_path.md, "Decoders").
ffmpeg-libraries:
	@if ldconfig -p | grep -q "libavcodec\.so\."; then :; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && apt-get install -y -qq --no-install-recommends ffmpeg >/dev/null; \
	else echo "FFmpeg's libraries are missing: torchcodec will be unusable, decoding falls back to decord/PyAV"; fi

install: $(VENV)/.installed

# Two threads whatever the core count: torch's thread count changes how floats round (docs/reproducibility.md, "The main job").
# The kernels' instruction set is left to the machine: pinning it to AVX2 (ATEN_CPU_CAPABILITY=avx2
# ONEDNN_MAX_CPU_ISA=AVX2) gives one table on every x86-64 machine, at 1.75x the step time on AVX-512 ones.
DEMO_CPU := OMP_NUM_THREADS=2

demo: install
	$(DEMO_CPU) $(VENV)/bin/accelerate launch --num_processes 1 --num_machines 1 --mixed_precision no \
		--dynamo_backend no scripts/train_glad.py --config configs/synthetic_demo.yaml

# The synthetic benchmark's table (README, "Results"; docs/synthetic_benchmark.md). Not pinned like the demo: it reports the spread over
# seeds, and on AVX-512 machines the AVX2 kernels would make it 1.75x slower.
benchmark-synthetic: install
	$(PY) scripts/benchmark_synthetic.py

# Does the package work on this machine's GPU, and how fast? One table and JSON in gpu_check/ (docs/gpu.md). Without
# CUDA it is a tiny dry run on the CPU, which says so.
gpu-check: install
	$(PY) scripts/gpu_check.py --output-dir gpu_check

# GLA + TOL and GLAD at several stage-1 strengths beside source-only, GLA and GLA + BG
# (docs/benchmark_synthetic/stage1_sweep.md), the controls and the x 1 rows taken from the default benchmark's report.
benchmark-stage1-sweep: install
	$(PY) scripts/benchmark_synthetic.py --preset stage1_sweep --reuse_report docs/benchmark_synthetic/benchmark.json

test: install
	$(PY) -m pytest -q

lint: install
	$(VENV)/bin/ruff check src tests scripts
