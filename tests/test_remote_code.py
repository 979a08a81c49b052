"""GLAD folders carry their code in transformers' custom-code convention (`glad_hf.remote_code`): they load with
transformers alone (`trust_remote_code=True`, in a process where `import glad_hf` fails), from a folder and from a
(fake) Hub, with the package's numbers; the code is generated from the package, deterministically; and where glad_hf
is imported its own classes are still used."""

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from huggingface_hub import HfApi
from transformers import (
    AutoConfig,
    AutoModel,
    AutoModelForVideoClassification,
    AutoVideoProcessor,
    dynamic_module_utils,
    pipeline,
)
from transformers.dynamic_module_utils import get_imports, get_relative_imports

import glad_hf
from glad_hf import GladConfig, GladForVideoClassification, GladModel, GladVideoProcessor
from glad_hf.hub.remote_code import (
    HEADER_MARK,
    add_remote_code,
    model_auto_map,
    remote_code_files,
    video_processor_auto_map,
)
from helpers import clip_grid, tiny_config, write_mp4

# huggingface_hub's LFS upload passes a file object as `data=`, which its HTTP client deprecates; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")

# Run in a fresh interpreter: glad_hf cannot be imported there; loads the model, config and processor with
# trust_remote_code, compares logits and runs the pipeline; writes a JSON report.
CHILD = r"""
import importlib.abc, json, sys


class BlockGladHf(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "glad_hf" or name.startswith("glad_hf."):
            raise ImportError(f"glad_hf is not installed in this process ({name})")
        return None


sys.meta_path.insert(0, BlockGladHf())
try:
    import glad_hf  # noqa: F401
except ImportError:
    pass
else:
    raise SystemExit("import glad_hf should have failed")

import torch
from transformers import AutoConfig, AutoModel, AutoModelForVideoClassification, AutoVideoProcessor, pipeline

torch.set_num_threads(min(2, torch.get_num_threads()))
args = json.loads(sys.argv[1])
source = args["source"]
config = AutoConfig.from_pretrained(source, trust_remote_code=True)
model = AutoModelForVideoClassification.from_pretrained(source, trust_remote_code=True).eval()
base = AutoModel.from_pretrained(source, trust_remote_code=True)
processor = AutoVideoProcessor.from_pretrained(source, trust_remote_code=True)
with torch.no_grad():
    logits = model(torch.load(args["inputs"])).logits
torch.save(processor(args["video"], return_tensors="pt")["pixel_values"], args["pixel_values"])
classifier = pipeline("video-classification", model=source, trust_remote_code=True)
results = classifier(args["video"], top_k=2)
report = {
    "config_class": f"{type(config).__module__}.{type(config).__name__}",
    "model_class": f"{type(model).__module__}.{type(model).__name__}",
    "base_class": f"{type(base).__module__}.{type(base).__name__}",
    "processor_class": f"{type(processor).__module__}.{type(processor).__name__}",
    "pipeline_model_class": f"{type(classifier.model).__module__}.{type(classifier.model).__name__}",
    "backbone_class": f"{type(model.glad.backbone).__module__}.{type(model.glad.backbone).__name__}",
    "backbone_type": config.backbone_type,
    "id2label": {str(k): v for k, v in config.id2label.items()},
    "max_abs_logit_difference": (logits - torch.load(args["expected"])).abs().max().item(),
    "pipeline_labels": [r["label"] for r in results],
    "glad_hf_modules": sorted(m for m in sys.modules if m.split(".")[0] == "glad_hf"),
}
with open(args["report"], "w") as f:
    json.dump(report, f)
"""

PROCESSOR_SETTINGS = dict(size={"shortest_edge": 40}, crop_size={"height": 32, "width": 32})


def save_glad_folder(folder: Path, backbone_type: str = "resnet3d") -> Path:
    """A tiny GLAD and its video processor saved to `folder`, with the remote code added."""
    torch.manual_seed(0)
    config = tiny_config(backbone_type=backbone_type)
    GladForVideoClassification(config).save_pretrained(folder)
    GladVideoProcessor(
        num_clips=config.num_clips, clip_len=config.clip_len, **PROCESSOR_SETTINGS
    ).save_pretrained(folder)
    add_remote_code(folder)
    return folder


def expected_outputs(tmp_path: Path, folder: Path) -> dict:
    """Input, logits and processed video of glad_hf's own classes, saved for the child to compare with."""
    model = GladForVideoClassification.from_pretrained(folder).eval()
    inputs = clip_grid(num_clips=model.config.num_clips, clip_len=model.config.clip_len)
    with torch.no_grad():
        logits = model(inputs).logits
    torch.save(inputs, tmp_path / "inputs.pt")
    torch.save(logits, tmp_path / "expected.pt")
    video = write_mp4(tmp_path / "video.mp4")
    pixel_values = GladVideoProcessor.from_pretrained(folder)(str(video), return_tensors="pt")["pixel_values"]
    return {"config": model.config, "pixel_values": pixel_values}


def load_without_glad_hf(tmp_path: Path, source: str, env: dict | None = None) -> dict:
    """Run CHILD on `source` (a folder or a repo id) in a fresh interpreter; its report."""
    args = {
        "source": source,
        "inputs": str(tmp_path / "inputs.pt"),
        "expected": str(tmp_path / "expected.pt"),
        "video": str(tmp_path / "video.mp4"),
        "pixel_values": str(tmp_path / "remote_pixel_values.pt"),
        "report": str(tmp_path / "report.json"),
    }
    child_env = {
        **os.environ,
        "HF_HOME": str(tmp_path / "hf_home"),
        "HF_MODULES_CACHE": str(tmp_path / "hf_modules"),
        **(env or {}),
    }
    done = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(args)],
        cwd=tmp_path,
        env=child_env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads((tmp_path / "report.json").read_text())


def check_report(tmp_path: Path, report: dict, expected: dict, backbone_module: str) -> None:
    config = expected["config"]
    for key in ("config_class", "model_class", "base_class", "processor_class", "pipeline_model_class"):
        assert report[key].startswith("transformers_modules."), (key, report[key])
    assert report["config_class"].endswith(".configuration_glad.GladConfig")
    assert report["model_class"].endswith(".modeling_glad.GladForVideoClassification")
    assert report["base_class"].endswith(".modeling_glad.GladModel")
    assert report["processor_class"].endswith(".video_processing_glad.GladVideoProcessor")
    assert report["backbone_class"].rpartition(".")[0].endswith(f".{backbone_module}")
    assert report["backbone_type"] == config.backbone_type
    assert report["glad_hf_modules"] == []
    assert report["max_abs_logit_difference"] <= 1e-6
    remote_pixel_values = torch.load(tmp_path / "remote_pixel_values.pt")
    assert torch.equal(remote_pixel_values, expected["pixel_values"])
    labels = set(config.id2label.values())
    assert report["id2label"] == {str(k): v for k, v in config.id2label.items()}
    assert len(report["pipeline_labels"]) == 2 and set(report["pipeline_labels"]) <= labels


@pytest.mark.parametrize(
    "backbone_type, backbone_module",
    [("resnet3d", "resnet3d"), ("tsm", "tsm"), ("transformers", "transformers_video")],
)
def test_a_folder_loads_with_transformers_alone(tmp_path, backbone_type, backbone_module):
    folder = save_glad_folder(tmp_path / "glad-model", backbone_type)
    expected = expected_outputs(tmp_path, folder)
    report = load_without_glad_hf(tmp_path, str(folder))
    check_report(tmp_path, report, expected, backbone_module)


def test_a_hub_repo_loads_with_transformers_alone(fake_hub, tmp_path):
    folder = save_glad_folder(tmp_path / "glad-model")
    expected = expected_outputs(tmp_path, folder)
    api = HfApi(endpoint=fake_hub.endpoint)
    api.create_repo("glad-org/glad-remote")
    api.upload_folder(repo_id="glad-org/glad-remote", folder_path=folder)
    env = {
        "HF_ENDPOINT": fake_hub.endpoint,
        "HF_HUB_OFFLINE": "0",
        "HF_HUB_DISABLE_XET": "1",
        "HF_HUB_CACHE": str(tmp_path / "hub_cache"),
    }
    report = load_without_glad_hf(tmp_path, "glad-org/glad-remote", env)
    check_report(tmp_path, report, expected, "resnet3d")
    # the child downloaded the code from the hub, module by module as transformers follows the relative imports
    downloaded = {path.rpartition("/")[2] for method, path in fake_hub.requests if "/resolve/" in path}
    assert set(remote_code_files()) <= downloaded


def test_with_glad_hf_imported_the_package_classes_are_used(tmp_path, monkeypatch):
    folder = save_glad_folder(tmp_path / "glad-model")
    modules_cache = tmp_path / "hf_modules"
    monkeypatch.setattr(dynamic_module_utils, "HF_MODULES_CACHE", str(modules_cache))
    for trust in (None, True):
        assert type(AutoConfig.from_pretrained(folder, trust_remote_code=trust)) is GladConfig
        assert type(AutoModel.from_pretrained(folder, trust_remote_code=trust)) is GladModel
        model = AutoModelForVideoClassification.from_pretrained(folder, trust_remote_code=trust)
        assert type(model) is GladForVideoClassification
        processor = AutoVideoProcessor.from_pretrained(folder, trust_remote_code=trust)
        assert type(processor) is GladVideoProcessor
        classifier = pipeline("video-classification", model=str(folder), trust_remote_code=trust)
        assert type(classifier.model) is GladForVideoClassification
    assert not modules_cache.exists()  # no remote code was ever loaded


def test_the_folder_gets_the_files_and_auto_maps(tmp_path):
    folder = save_glad_folder(tmp_path / "glad-model")
    files = remote_code_files()
    assert {name: (folder / name).read_text() for name in files} == files
    config = json.loads((folder / "config.json").read_text())
    assert config["auto_map"] == {
        "AutoConfig": "configuration_glad.GladConfig",
        "AutoModel": "modeling_glad.GladModel",
        "AutoModelForVideoClassification": "modeling_glad.GladForVideoClassification",
    }
    assert config["auto_map"] == model_auto_map()
    processor_config = json.loads((folder / "video_preprocessor_config.json").read_text())
    assert processor_config["auto_map"] == {"AutoVideoProcessor": "video_processing_glad.GladVideoProcessor"}
    assert processor_config["auto_map"] == video_processor_auto_map()
    for reference in (*model_auto_map().values(), *video_processor_auto_map().values()):
        module, _, name = reference.partition(".")
        assert f"{module}.py" in files and f"class {name}(" in files[f"{module}.py"]


def test_the_generated_code_imports_no_glad_hf_and_only_its_own_flat_files(tmp_path):
    files = remote_code_files()
    for name, text in files.items():
        path = tmp_path / name
        path.write_text(text)
        imports = get_imports(path)
        assert "glad_hf" not in imports, name
        third_party = {module for module in imports if module not in sys.stdlib_module_names}
        assert third_party <= {"numpy", "torch", "torchvision", "transformers"}, (name, third_party)
        assert {f"{module}.py" for module in get_relative_imports(path)} <= set(files), name
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Import):
                assert not any(alias.name.split(".")[0] == "glad_hf" for alias in node.names), name
            elif isinstance(node, ast.ImportFrom):
                assert node.level in (0, 1), name
                assert node.level == 1 or node.module.split(".")[0] != "glad_hf", name
    # the model file imports every backbone network, so that transformers copies them along
    assert {"resnet3d", "tsm", "torchvision_video", "transformers_video"} <= set(
        get_relative_imports(tmp_path / "modeling_glad.py")
    )


def _without_glad_imports(tree: ast.AST) -> str:
    """The tree's dump with every import of a glad_hf module (relative, or absolute from glad_hf) left out."""

    class DropOwnImports(ast.NodeTransformer):
        def visit_ImportFrom(self, node):
            if node.level or node.module.split(".")[0] == "glad_hf":
                return None
            return node

    return ast.dump(DropOwnImports().visit(tree))


def test_the_files_are_the_package_source_with_imports_rewritten():
    package = Path(glad_hf.__file__).parent
    sources = {path.name: path for path in package.rglob("*.py") if path.name != "__init__.py"}
    for name, text in remote_code_files().items():
        assert text.startswith(HEADER_MARK)
        original = sources[name].read_text()
        assert _without_glad_imports(ast.parse(text)) == _without_glad_imports(ast.parse(original)), name
    # modules without a glad_hf import are copied verbatim after the header
    labels = remote_code_files()["labels.py"]
    assert labels.split("\n", 2)[2] == (package / "labels.py").read_text()


def test_generation_is_deterministic_and_a_rerun_changes_nothing(tmp_path):
    assert remote_code_files() == remote_code_files()
    folder = save_glad_folder(tmp_path / "glad-model")
    before = {path.name: path.read_bytes() for path in folder.iterdir()}
    add_remote_code(folder)
    assert {path.name: path.read_bytes() for path in folder.iterdir()} == before


def test_stale_generated_files_are_removed_and_other_files_kept(tmp_path):
    folder = save_glad_folder(tmp_path / "glad-model")
    (folder / "old_module.py").write_text(f"{HEADER_MARK} from glad_hf/old_module.py\nX = 1\n")
    # written by glad_hf before the Hub package existed
    (folder / "publishing.py").write_text(
        "# Generated by glad_hf.remote_code from glad_hf/publishing.py\nY = 2\n"
    )
    (folder / "user_script.py").write_text("print('mine')\n")
    add_remote_code(folder)
    assert not (folder / "old_module.py").exists() and not (folder / "publishing.py").exists()
    assert (folder / "user_script.py").read_text() == "print('mine')\n"


def test_a_folder_that_is_not_a_glad_model_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="config.json"):
        add_remote_code(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(ValueError, match="not a GLAD config"):
        add_remote_code(tmp_path)


def test_a_folder_without_a_processor_gets_the_model_auto_map_only(tmp_path):
    GladForVideoClassification(tiny_config()).save_pretrained(tmp_path)
    add_remote_code(tmp_path)
    assert json.loads((tmp_path / "config.json").read_text())["auto_map"] == model_auto_map()
    assert not (tmp_path / "video_preprocessor_config.json").exists()
