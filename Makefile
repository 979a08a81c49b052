# `make demo`: both training stages on the built-in synthetic Kinetics->BABEL (no downloads).
# `make test`: the test suite. Each target creates the virtual environment on first use.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
export HF_HUB_OFFLINE ?= 1
export HF_HUB_DISABLE_TELEMETRY := 1

.PHONY: install demo test lint benchmarks ffmpeg-libraries

$(VENV)/.installed: setup.cfg pyproject.toml
	$(MAKE) ffmpeg-libraries
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.14.1 torchvision==0.29.1
	$(PY) -m pip install -q -e ".[dev,decord,torchcodec]"
	touch $@

# FFmpeg's shared libraries, which torchcodec loads (the fastest decoder here; PyAV brings its own FFmpeg). Installed
# with apt-get where it is available and allowed; elsewhere, install FFmpeg 4-8 yourself (README, "Decoders").
ffmpeg-libraries:
	@if ldconfig -p | grep -q "libavcodec\.so\."; then :; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && apt-get install -y -qq --no-install-recommends ffmpeg >/dev/null; \
	else echo "FFmpeg's libraries are missing: torchcodec will be unusable, decoding falls back to decord/PyAV"; fi

install: $(VENV)/.installed

# The same table on any x86-64 machine with AVX2: torch's CPU kernels and oneDNN's pick their instruction set, and
# torch its thread count, from the machine, and each choice rounds floats differently (README, "The main job").
DEMO_CPU := OMP_NUM_THREADS=2 ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2

demo: install
	$(DEMO_CPU) $(VENV)/bin/accelerate launch --num_processes 1 --num_machines 1 --mixed_precision no \
		--dynamo_backend no scripts/train_glad.py --config configs/synthetic_demo.yaml

test: install
	$(PY) -m pytest -q

lint: install
	$(VENV)/bin/ruff check src tests scripts
