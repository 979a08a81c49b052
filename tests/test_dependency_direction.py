"""Dependencies point one way: scripts -> training -> (model, data, metrics). The model side (configuration,
modeling, backbones, processor, converter) imports no data or training code; backbones import no heads; data imports
no training; nothing imports scripts."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "glad_hf"
MODEL_SIDE = [
    "configuration_glad.py",
    "modeling_glad.py",
    "video_processing_glad.py",
    "conversion.py",
    "frame_sampling.py",
    "labels.py",
    *[f"backbones/{p.name}" for p in (PACKAGE / "backbones").glob("*.py")],
]


def imported_modules(path: Path) -> set[str]:
    """Absolute names of the glad_hf modules a file imports (relative imports resolved)."""
    package = ["glad_hf", *path.relative_to(PACKAGE).parent.parts]
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *(node.module.split(".") if node.module else [])])
            names.add(module)
            names |= {f"{module}.{alias.name}" for alias in node.names}
    return {name for name in names if name.startswith("glad_hf") or name.startswith("scripts")}


@pytest.mark.parametrize("relative", MODEL_SIDE)
def test_model_side_imports_no_data_or_training(relative):
    imports = imported_modules(PACKAGE / relative)
    assert not {n for n in imports if n.startswith(("glad_hf.data", "glad_hf.training", "glad_hf.metrics"))}


def test_backbones_import_no_heads():
    for path in (PACKAGE / "backbones").glob("*.py"):
        assert not {n for n in imported_modules(path) if n.startswith("glad_hf.modeling_glad")}, path.name


def test_data_imports_no_training_and_nothing_imports_scripts():
    for path in PACKAGE.rglob("*.py"):
        imports = imported_modules(path)
        assert not {n for n in imports if n.startswith("scripts")}, path
        if "data" in path.relative_to(PACKAGE).parts:
            assert not {n for n in imports if n.startswith("glad_hf.training")}, path
