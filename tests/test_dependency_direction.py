"""Dependencies point one way: scripts -> training -> (hub, model, data, metrics), hub -> model. The model side
(configuration, modeling, backbones, processor, converter) and the Hub package import no data or training code;
backbones import no heads; configs import no network code; data imports no training; nothing imports scripts."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "glad_hf"
MODEL_SIDE = [
    "configuration_glad.py",
    "modeling_glad.py",
    "video_processing_glad.py",
    "frame_sampling.py",
    "labels.py",
    *[f"backbones/{p.name}" for p in (PACKAGE / "backbones").glob("*.py")],
    *[f"conversion/{p.name}" for p in (PACKAGE / "conversion").glob("*.py")],
    *[f"hub/{p.name}" for p in (PACKAGE / "hub").glob("*.py")],
]
# the model itself: what `import glad_hf` loads, and what the remote code is generated from
MODEL = [relative for relative in MODEL_SIDE if not relative.startswith(("conversion/", "hub/"))]
# configs (and the registry, and the backbones package that re-exports them) load without any network module
CONFIG_SIDE = [
    "configuration_glad.py",
    "labels.py",
    "backbones/__init__.py",
    "backbones/registry.py",
    *[f"backbones/{p.name}" for p in (PACKAGE / "backbones").glob("configuration_*.py")],
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


@pytest.mark.parametrize("relative", MODEL)
def test_the_model_imports_no_hub_or_conversion(relative):
    imports = imported_modules(PACKAGE / relative)
    assert not {n for n in imports if n.startswith(("glad_hf.hub", "glad_hf.conversion"))}


def test_the_hub_converts_nothing_and_metrics_import_no_data():
    for path in (PACKAGE / "hub").glob("*.py"):
        assert not {n for n in imported_modules(path) if n.startswith("glad_hf.conversion")}, path.name
    for path in (PACKAGE / "metrics").rglob("*.py"):
        imports = imported_modules(path)
        assert not {n for n in imports if n.startswith(("glad_hf.data", "glad_hf.training"))}, path.name


def test_backbones_import_no_heads():
    for path in (PACKAGE / "backbones").glob("*.py"):
        assert not {n for n in imported_modules(path) if n.startswith("glad_hf.modeling_glad")}, path.name


CONFIG_MODULES = {
    ".".join(["glad_hf", *Path(relative).with_suffix("").parts]).removesuffix(".__init__")
    for relative in CONFIG_SIDE
}


def is_config_side(name: str) -> bool:
    """An imported glad_hf name is a config module or a name defined in one (not a module of a package)."""
    parent = name.rpartition(".")[0]
    return name in CONFIG_MODULES or (parent in CONFIG_MODULES and parent != "glad_hf.backbones")


@pytest.mark.parametrize("relative", CONFIG_SIDE)
def test_configs_import_no_network_code(relative):
    path = PACKAGE / relative
    assert {n for n in imported_modules(path) if not is_config_side(n)} == set()
    top_level = [
        node for node in ast.parse(path.read_text()).body if isinstance(node, (ast.Import, ast.ImportFrom))
    ]
    libraries = {alias.name for node in top_level if isinstance(node, ast.Import) for alias in node.names}
    libraries |= {node.module for node in top_level if isinstance(node, ast.ImportFrom) and not node.level}
    assert not {n for n in libraries if n.split(".")[0] in ("torch", "torchvision")}


def test_registered_networks_are_backbone_modules():
    from glad_hf.backbones import BACKBONES

    for spec in BACKBONES.values():
        module, _ = spec.network.split(":")
        assert (PACKAGE / "backbones" / f"{module}.py").is_file(), spec.network


def test_data_imports_no_training_and_nothing_imports_scripts():
    for path in PACKAGE.rglob("*.py"):
        imports = imported_modules(path)
        assert not {n for n in imports if n.startswith("scripts")}, path
        if "data" in path.relative_to(PACKAGE).parts:
            assert not {n for n in imports if n.startswith("glad_hf.training")}, path
