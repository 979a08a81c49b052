"""Test-wide settings: never touch the network, keep torch to the machine's two cores."""

import os
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Generated data and pre-trained models go to a fresh folder, not the user's cache (inherited by subprocesses).
os.environ["GLAD_HF_CACHE"] = tempfile.mkdtemp(prefix="glad_hf_test_cache-")

import pytest  # noqa: E402
import torch  # noqa: E402

from fake_hub import patch_hub_client, running_fake_hub  # noqa: E402

torch.set_num_threads(min(2, torch.get_num_threads()))

SHARED_DIR = Path(__file__).resolve().parents[1] / ".." / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The project's ../shared folder (golden numbers, annotation tar); skips where a clone has none."""
    if not SHARED_DIR.is_dir():
        pytest.skip(f"{SHARED_DIR} is absent (it exists beside the project's own checkout only)")
    return SHARED_DIR.resolve()


@pytest.fixture
def fake_hub():
    """A fake Hub on 127.0.0.1 (tests/fake_hub.py), made huggingface_hub's default endpoint, so that
    `from_pretrained("ORG/NAME", cache_dir=...)` reads from it. Yields the `FakeHub` (`.endpoint` is its URL)."""
    with running_fake_hub() as hub, patch_hub_client(hub.endpoint):
        yield hub
