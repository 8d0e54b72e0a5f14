"""Imports run one way (docs/architecture.md): config -> plan -> train -> fit -> plot/report, nothing back up.
An ast walk over flops_fit/ (no import is executed), so a new arrow back fails here."""
import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "flops_fit"

# module prefix -> prefixes it must not import
FORBIDDEN = {
    "flops_fit.fit": ("flops_fit.adaptive", "flops_fit.plot", "flops_fit.report", "flops_fit.forecast",
                      "flops_fit.train", "flops_fit.stages", "flops_fit.cli", "flops_fit.runner", "torch"),
    "flops_fit.plot": ("flops_fit.adaptive", "flops_fit.forecast.precision", "flops_fit.train", "flops_fit.stages",
                       "flops_fit.cli", "torch", "scipy", "lmfit"),
    "flops_fit.report": ("flops_fit.adaptive", "flops_fit.train", "flops_fit.stages", "flops_fit.cli", "torch",
                         "scipy", "lmfit"),
}
# plots and reports read saved results: of the fit package, only the reader of fits.json (and the compute model
# it evaluates) is theirs
READERS_OF_FITS = ("flops_fit.plot", "flops_fit.report")
FIT_READER = ("flops_fit.fit.result", "flops_fit.fit.compute", "flops_fit.fit")


def modules():
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(PKG.parent).with_suffix("")
        parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
        yield ".".join(parts), path, rel.name == "__init__"


def imports(name, path, is_pkg):
    """(imported module, imported names) for every import statement, relative ones resolved."""
    tree = ast.parse(path.read_text(), str(path))
    package = name if is_pkg else name.rsplit(".", 1)[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield a.name, []
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")
                up = up[:len(up) - (node.level - 1)]
                base = ".".join(up + ([node.module] if node.module else []))
            yield base, [a.name for a in node.names]


ALL = list(modules())


def under(mod, prefix):
    return mod == prefix or mod.startswith(prefix + ".")


@pytest.mark.parametrize("name,path,is_pkg", ALL, ids=[m[0] for m in ALL])
def test_no_arrow_back(name, path, is_pkg):
    bad = []
    for mod, names in imports(name, path, is_pkg):
        targets = [mod] + [f"{mod}.{n}" for n in names]
        for prefix, banned in FORBIDDEN.items():
            if under(name, prefix):
                bad += [t for t in targets[:1] if any(under(t, b) for b in banned)]
        if any(under(name, p) for p in READERS_OF_FITS) and under(mod, "flops_fit.fit"):
            if mod not in FIT_READER or (mod == "flops_fit.fit" and set(names) - {"FitResult"}):
                bad.append(mod)
        private = [n for n in names if n.startswith("_") and not n.startswith("__")]
        if private and mod.startswith("flops_fit") and mod != name:
            bad += [f"{mod}.{n} (private)" for n in private]
    assert not bad, f"{path.relative_to(PKG.parent)} imports {sorted(set(bad))}"


def test_the_walk_sees_a_back_arrow(tmp_path):
    p = tmp_path / "m.py"
    p.write_text("from ..adaptive.steer import x\nfrom .approach3 import _refine\n")
    found = list(imports("flops_fit.fit.m", p, False))
    assert ("flops_fit.adaptive.steer", ["x"]) in found and ("flops_fit.fit.approach3", ["_refine"]) in found
