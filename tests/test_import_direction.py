"""Imports run one way (docs/architecture.md): config -> plan -> train -> fit -> predict -> plot/report, nothing
back up.
An ast walk over flops_fit/ (no import is executed), so a new arrow back fails here."""
import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "flops_fit"

# module prefix -> prefixes it must not import
FORBIDDEN = {
    "flops_fit.fit": ("flops_fit.adaptive", "flops_fit.plot", "flops_fit.report", "flops_fit.forecast",
                      "flops_fit.train", "flops_fit.stages", "flops_fit.cli", "flops_fit.runner", "flops_fit.predict",
                      "torch"),
    "flops_fit.plot": ("flops_fit.adaptive", "flops_fit.forecast.precision", "flops_fit.train", "flops_fit.stages",
                       "flops_fit.cli", "torch", "scipy", "lmfit"),
    "flops_fit.report": ("flops_fit.adaptive", "flops_fit.train", "flops_fit.stages", "flops_fit.cli", "torch",
                         "scipy", "lmfit"),
}
# the one call up, made at call time (inside a function), never at import: FitResult.predict hands fits.json to
# flops_fit.predict.predict_from_fits
CALL_TIME = {("flops_fit.fit.result", "flops_fit.predict")}
# plots and reports read saved results: of the fit package, only the reader of fits.json (and the compute model
# it evaluates) is theirs
READERS_OF_FITS = ("flops_fit.plot", "flops_fit.report")
FIT_READER = ("flops_fit.fit.result", "flops_fit.fit.compute", "flops_fit.fit")


def modules():
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(PKG.parent).with_suffix("")
        parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
        yield ".".join(parts), path, rel.name == "__init__"


def imports(name, path, is_pkg, call_time=False):
    """(imported module, imported names) for every import statement, relative ones resolved; call_time=True: only
    those inside a function body."""
    tree = ast.parse(path.read_text(), str(path))
    package = name if is_pkg else name.rsplit(".", 1)[0]
    nodes = ast.walk(tree)
    if call_time:
        nodes = (n for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
                 for n in ast.walk(f))
    for node in nodes:
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
    every = [m for m, _ in imports(name, path, is_pkg)]
    lazy = [m for m, _ in imports(name, path, is_pkg, call_time=True)]
    for mod, names in imports(name, path, is_pkg):
        targets = [mod] + [f"{mod}.{n}" for n in names]
        if (name, mod) in CALL_TIME and every.count(mod) == lazy.count(mod):   # all inside functions
            continue
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


def test_the_walk_tells_call_time_imports_from_load_time_ones(tmp_path):
    p = tmp_path / "m.py"
    p.write_text("import flops_fit.predict\ndef f():\n    from flops_fit.predict import x\n")
    assert [m for m, _ in imports("flops_fit.fit.result", p, False)].count("flops_fit.predict") == 2
    assert [m for m, _ in imports("flops_fit.fit.result", p, False, call_time=True)] == ["flops_fit.predict"]


def test_the_walk_sees_a_back_arrow(tmp_path):
    p = tmp_path / "m.py"
    p.write_text("from ..adaptive.steer import x\nfrom .approach3 import _refine\n")
    found = list(imports("flops_fit.fit.m", p, False))
    assert ("flops_fit.adaptive.steer", ["x"]) in found and ("flops_fit.fit.approach3", ["_refine"]) in found


def test_fitting_and_reading_a_fit_never_load_predict():
    """The fit stage hands predict's hook to the fit (flops_fit.stages); the fit package itself, and loading a
    fits.json, import nothing of flops_fit.predict: FitResult.predict calls up only when called."""
    import subprocess
    import sys
    code = ("import sys; import flops_fit.fit, flops_fit.fit.session, flops_fit.fit.analyze; "
            "from flops_fit.fit import FitResult; FitResult({'schema': 'flops-fit/fits/v3'}).predict_loss(1e9, 2e10); "
            "print(sorted(m for m in sys.modules if m.startswith('flops_fit.predict')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
