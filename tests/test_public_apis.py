"""src/ uses only public APIs of other libraries: no `obj._name` access or `from x import _name` where `_name` is not
defined by glad_hf itself (a method, attribute or function of ours). A private attribute of Accelerate, transformers
or torch can change in any release and break a run silently."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "glad_hf"


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _own_private_names(trees: dict[Path, ast.AST]) -> set[str]:
    """Private names glad_hf defines: functions, classes, module variables, `self._x = ...` attributes."""
    names = set()
    for tree in trees.values():
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and _private(
                node.name
            ):
                names.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and _private(node.id):
                names.add(node.id)
            elif (
                isinstance(node, ast.Attribute)
                and isinstance(node.ctx, ast.Store)
                and isinstance(node.value, ast.Name)
                and node.value.id in ("self", "cls")
                and _private(node.attr)
            ):
                names.add(node.attr)
    return names


def foreign_private_uses(trees: dict[Path, ast.AST]) -> list[str]:
    own = _own_private_names(trees)
    found = []
    for path, tree in trees.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and _private(node.attr) and node.attr not in own:
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}: .{node.attr}")
            elif (
                isinstance(node, ast.ImportFrom) and not node.level and node.module.split(".")[0] != "glad_hf"
            ):
                for alias in node.names:
                    if _private(alias.name) or any(_private(part) for part in (node.module or "").split(".")):
                        found.append(
                            f"{path.relative_to(PACKAGE)}:{node.lineno}: from {node.module} import {alias.name}"
                        )
    return found


def _trees(paths) -> dict[Path, ast.AST]:
    return {path: ast.parse(path.read_text(), filename=str(path)) for path in paths}


def test_src_uses_no_private_attribute_of_another_library():
    assert foreign_private_uses(_trees(sorted(PACKAGE.rglob("*.py")))) == []


def test_the_scan_finds_private_uses(tmp_path):
    sample = (
        PACKAGE / "sample.py"
    )  # a name under the package, for the report; the text is parsed, not written
    code = (
        "from torch.nn.modules.batchnorm import _NormBase\n"
        "def f(accelerator, self):\n"
        "    accelerator._custom_objects.clear()\n"
        "    self._mine = 1\n"
        "    return self._mine\n"
    )
    found = foreign_private_uses({sample: ast.parse(code)})
    assert found == [
        "sample.py:1: from torch.nn.modules.batchnorm import _NormBase",
        "sample.py:3: ._custom_objects",
    ]
