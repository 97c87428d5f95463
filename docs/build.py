"""Build eqlab's API reference with pdoc from the numpydoc docstrings: ``make docs``.

Usage: ``python -W error docs/build.py OUTPUT_DIR`` (the Makefile writes ``docs/api/``, which git ignores).

Documents ``eqlab`` and its public subpackages and modules, each with the names of its ``__all__``;
modules whose name has a leading underscore (the implementation, and ``eqlab.__main__``) are left out.
Fails (exit 1) on any warning raised while importing or rendering, and when the reference lists
`LIMIT` or more distinct names: an object re-exported by several packages counts once, and enum
members, methods and attributes count with their class, not apart.

Two fixes to what pdoc would show. A constant defined in an implementation module and re-exported by
its package gets the attribute docstring it has there (the string literal on the line after it): pdoc
reads attribute docstrings only from the module that lists the constant. And a method eqlab overrides
without a docstring of its own (``__init__``, ``extra_repr`` of a layer) shows no docstring instead of
torch's ("Initialize internal Module state, ..."), which describes torch's method, not eqlab's.
"""

from __future__ import annotations

import importlib
import pkgutil
import shutil
import sys
import types
import warnings
from pathlib import Path

LIMIT = 100
"""The issue's bound: the reference lists fewer than this many distinct names."""


def public_module_names() -> list[str]:
    """``eqlab``, then every public subpackage and module under it (no name part with a leading
    underscore), in order of their names."""
    import eqlab

    names = ["eqlab"]
    for info in pkgutil.walk_packages(eqlab.__path__, "eqlab."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return names


def _defining_docstring(package: types.ModuleType, name: str) -> str:
    """The attribute docstring of ``name`` in the first submodule of ``package`` that documents it."""
    import pdoc.doc

    for info in pkgutil.iter_modules(getattr(package, "__path__", [])):
        member = pdoc.doc.Module.from_name(f"{package.__name__}.{info.name}").members.get(name)
        if isinstance(member, pdoc.doc.Variable) and member.docstring:
            return member.docstring
    return ""


def _borrows_foreign_docstring(cls: type, name: str, function: object) -> bool:
    """Whether ``cls.name``, a function without a docstring of its own, would show the docstring of a
    base class from outside eqlab (``torch.nn.Module.__init__``, say)."""
    if getattr(function, "__doc__", None):
        return False
    for base in cls.__mro__[1:]:
        attr = base.__dict__.get(name)
        if attr is not None and getattr(attr, "__doc__", None):
            return not base.__module__.startswith("eqlab")
    return False


def documented_modules(names: list[str]) -> dict[str, object]:
    """pdoc's model of each module, with re-exported constants given their defining module's docstring
    and methods without a docstring kept from showing torch's.

    ``pdoc.doc.Module.from_name`` caches its modules, so `pdoc.pdoc` renders these same objects.
    """
    import pdoc.doc

    modules = {name: pdoc.doc.Module.from_name(name) for name in names}
    for module in modules.values():
        for name, member in module.members.items():
            if isinstance(member, pdoc.doc.Variable) and not member.docstring:
                member.docstring = _defining_docstring(module.obj, name)
            if isinstance(member, pdoc.doc.Class):
                for method in member.own_members:
                    if isinstance(method, pdoc.doc.Function) and _borrows_foreign_docstring(
                        member.obj, method.name, method.obj
                    ):
                        method.docstring = ""
    return modules


def listed_names(modules: dict[str, object]) -> tuple[list[str], list[str]]:
    """The distinct names the reference lists, each by its first public path, and those without a
    docstring. An object counts once however many packages list it; a constant is told apart by its
    name and its value's identity, since equal small values are shared objects in Python."""
    import pdoc.doc

    seen: dict[object, str] = {}
    undocumented = []
    for module in modules.values():
        assert isinstance(module, pdoc.doc.Module)
        for name, member in module.members.items():
            if isinstance(member, pdoc.doc.Variable):
                key: object = ("constant", name, id(member.default_value))
            else:
                key = id(member.obj)
            if key not in seen:
                seen[key] = member.fullname
                if not member.docstring.strip():
                    undocumented.append(member.fullname)
    return sorted(seen.values()), undocumented


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -W error docs/build.py OUTPUT_DIR", file=sys.stderr)
        return 2
    output = Path(argv[0])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        import pdoc
        import pdoc.render

        import eqlab
        from eqlab import __version__

        for name in eqlab.__all__:  # top-level names load on first use; pdoc reads the module's dict
            getattr(eqlab, name)
        pdoc.render.configure(docformat="numpy", footer_text=f"eqlab {__version__}", show_source=False)
        names = public_module_names()
        modules = documented_modules(names)
        if output.exists():
            shutil.rmtree(output)
        pdoc.pdoc(*names, output_directory=output)
        listed, undocumented = listed_names(modules)
    failed = False
    for warning in caught:
        print(f"docs: warning: {warning.category.__name__}: {warning.message}", file=sys.stderr)
        failed = True
    if undocumented:
        print(
            f"docs: {len(undocumented)} names without a docstring: {', '.join(undocumented)}", file=sys.stderr
        )
        failed = True
    print(f"docs: {len(names)} modules written to {output}/: {', '.join(names)}")
    print(f"docs: the reference lists {len(listed)} distinct names (the bound is fewer than {LIMIT})")
    if len(listed) >= LIMIT:
        print(f"docs: {len(listed)} names is not fewer than {LIMIT}: {', '.join(listed)}", file=sys.stderr)
        failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    importlib.invalidate_caches()
    sys.exit(main(sys.argv[1:]))
