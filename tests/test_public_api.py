"""The public face: a small set of documented names, private implementation modules, options as str enums."""

from __future__ import annotations

import ast
import enum
import importlib
import inspect
import itertools
import pkgutil
import types
from pathlib import Path

import eqlab

PUBLIC_LIMIT = 100
"""The issue's bound: fewer than this many distinct objects over every package's ``__all__``."""


def public_modules() -> list[types.ModuleType]:
    """``eqlab`` and every subpackage or module whose name has no leading underscore."""
    names = ["eqlab"] + [
        info.name
        for info in pkgutil.walk_packages(eqlab.__path__, "eqlab.")
        if not any(part.startswith("_") for part in info.name.split("."))
    ]
    return [importlib.import_module(name) for name in names]


def public_objects() -> dict[int, tuple[str, object]]:
    """Distinct objects named in some ``__all__``, each with its first public path."""
    found: dict[int, tuple[str, object]] = {}
    for module in public_modules():
        for attr in getattr(module, "__all__", []):
            obj = getattr(module, attr)
            found.setdefault(id(obj), (f"{module.__name__}.{attr}", obj))
    return found


def test_fewer_than_a_hundred_public_names() -> None:
    names = sorted(path for path, _ in public_objects().values())
    assert len(names) < PUBLIC_LIMIT, f"{len(names)} public names: {names}"


def test_every_public_module_declares_its_names() -> None:
    for module in public_modules():
        assert hasattr(module, "__all__"), f"{module.__name__} has no __all__"
        for attr in module.__all__:
            assert hasattr(module, attr), f"{module.__name__}.__all__ names {attr}, which it lacks"


def test_no_public_module_besides_the_packages_and_testing() -> None:
    modules = [m.__name__ for m in public_modules() if not hasattr(m, "__path__")]
    assert modules == ["eqlab.testing"], modules


def test_no_function_shadows_a_module() -> None:
    for module in public_modules():
        for info in pkgutil.iter_modules(getattr(module, "__path__", [])):
            assert not hasattr(module, info.name) or isinstance(
                getattr(module, info.name), types.ModuleType
            ), f"{module.__name__}.{info.name} is both a module and a {type(getattr(module, info.name))}"


def test_every_public_name_is_documented() -> None:
    undocumented = []
    for path, obj in public_objects().values():
        if isinstance(obj, types.ModuleType) or callable(obj):
            if not (inspect.getdoc(obj) or "").strip():
                undocumented.append(path)
        elif not _has_attribute_docstring(path):
            undocumented.append(path)
    assert not undocumented, undocumented


def test_options_are_str_enums_with_a_docstring_per_member() -> None:
    enums = [(path, obj) for path, obj in public_objects().values() if isinstance(obj, enum.EnumMeta)]
    for path, options in enums:
        assert issubclass(options, str), f"{path} is not a str enum"
        documented = _member_docstrings(options)
        missing = [m.name for m in options if not documented.get(m.name)]
        assert not missing, f"{path}: members without a docstring: {missing}"


def test_no_public_tuple_of_option_strings() -> None:
    for path, obj in public_objects().values():
        assert not (isinstance(obj, tuple) and obj and all(isinstance(v, str) for v in obj)), (
            f"{path} is a bare tuple of strings; make it a str enum"
        )


def _member_docstrings(options: type[enum.Enum]) -> dict[str, str]:
    """Attribute docstrings (a string literal right after ``NAME = value``) in the enum's class body."""
    tree = ast.parse(Path(inspect.getfile(options)).read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == options.__name__:
            return _attribute_docstrings(node.body)
    return {}


def _attribute_docstrings(body: list[ast.stmt]) -> dict[str, str]:
    docs = {}
    for before, after in itertools.pairwise(body):
        target = before.targets[0] if isinstance(before, ast.Assign) else getattr(before, "target", None)
        if (
            isinstance(target, ast.Name)
            and isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
            and isinstance(after.value.value, str)
        ):
            docs[target.id] = after.value.value.strip()
    return docs


def _has_attribute_docstring(path: str) -> bool:
    """Whether the module that defines the constant ``path`` documents it with an attribute docstring."""
    module_name, name = path.rsplit(".", 1)
    module = importlib.import_module(module_name)
    for candidate in [module, *_submodules(module)]:
        file = getattr(candidate, "__file__", None)
        if file and _attribute_docstrings(ast.parse(Path(file).read_text()).body).get(name):
            return True
    return False


def _submodules(module: types.ModuleType) -> list[types.ModuleType]:
    return [
        importlib.import_module(f"{module.__name__}.{info.name}")
        for info in pkgutil.iter_modules(getattr(module, "__path__", []))
    ]
