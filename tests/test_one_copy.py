"""Each rule the stages share is written once (docs/architecture.md): the fit's formulas in flops_fit.fit.result,
the shared thresholds and lists in flops_fit.constants, the JSON cleaner in flops_fit.io, one schedule, psutil for
processes and memory; and plot/, report/ and forecast/ read fits.json through FitResult. A scan of the source
(docstrings and comments left out), so a second copy fails here with the file that holds it."""
import ast
import functools
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "flops_fit"
ONE_PLACE = {"formulas": "flops_fit/fit/result.py", "constants": "flops_fit/constants.py", "json": "flops_fit/io.py"}

# Copies that stand elsewhere today, each named with where it should go; the list may only shrink.
KNOWN = {}   # files allowed to keep a second copy of a formula, for now: none


class _Prose(ast.NodeTransformer):
    """Text (docstrings, messages, f-strings) emptied; short names kept, as in p['alpha']."""

    def visit_JoinedStr(self, node):
        return ast.Constant("")

    def visit_Constant(self, node):
        if isinstance(node.value, str) and not re.fullmatch(r"\w{1,12}", node.value):
            return ast.Constant("")
        return node


@functools.lru_cache(maxsize=None)
def _code(path: Path) -> str:
    """The module as ast.unparse writes it, without comments and prose (one spelling of each expression)."""
    return ast.unparse(_Prose().visit(ast.parse(path.read_text(), str(path))))


def _files(*dirs):
    for d in dirs:
        yield from sorted((ROOT / d).rglob("*.py"))


def _rel(p: Path) -> str:
    return str(p.relative_to(ROOT))


PATTERNS = {
    # E + A / N^alpha + B / D^beta, in any spelling (A * N ** -alpha, A / np.power(N, alpha), p['A'] * ...)
    "surface": re.compile(r"\bA\b'?\]?\s*[*/]\s*[^+\n]*\bN\b[^+\n]*\+\s*[\w.\[\]']*\bB\b"),
    # a = beta / (alpha + beta), b = alpha / (alpha + beta)
    "exponents": re.compile(r"/ \((\w+\[')?(alpha|al)('\])? \+ (\w+\[')?(beta|be)('\])?\)"),
    # the closed-form optimum's ln N* = (ln(alpha A) - ln(beta B) + ...) / (alpha + beta)
    "closed_form": re.compile(r"log\((alpha|al)\w* \* A\w*\) - np\.log\((beta|be)\w* \* B\w*\)"),
}


def _hits(pattern, dirs=("flops_fit", "scripts", "benchmarks"), skip=(ONE_PLACE["formulas"],)):
    return sorted({_rel(p) for p in _files(*dirs) if _rel(p) not in skip and PATTERNS[pattern].search(_code(p))})


@pytest.mark.parametrize("pattern", sorted(PATTERNS))
def test_the_fit_formulas_are_written_once(pattern):
    known = KNOWN.get(pattern, set())
    hits = set(_hits(pattern))
    assert hits <= known, (f"{sorted(hits - known)} write the {pattern} formula again; use "
                           f"{ONE_PLACE['formulas']} (surface_loss, surface_exponents, closed_form_optimum)")
    assert hits == known, f"{sorted(known - hits)} no longer copy it: take them off KNOWN"


def test_the_scan_sees_each_old_spelling(tmp_path):
    """The spellings the fit, the mock and the plots once had, each caught (so the scan above can fail)."""
    old = {"surface": ["L = E + A / np.power(N, alpha) + B / np.power(D, beta)",
                       "pred = E + A * np.asarray(N, float) ** -al + B * np.asarray(D, float) ** -be",
                       "return p['E'] + p['A'] * N ** -p['alpha'] + p['B'] * D ** -p['beta']"],
           "exponents": ["s = mock['alpha'] + mock['beta']\na = be / (al + be)", "a = beta / (alpha + beta)"],
           "closed_form": ["x = (np.log(al * A) - np.log(be * B) + be * (logC - lk)) / (al + be)"]}
    for pattern, lines in old.items():
        for i, line in enumerate(lines):
            p = tmp_path / f"{pattern}{i}.py"
            p.write_text(f'"""E + A / N^alpha + B / D^beta in a docstring does not count."""\n{line}\n')
            assert PATTERNS[pattern].search(_code(p)), (pattern, line)
    p = tmp_path / "doc.py"
    p.write_text('"""L = E + A / N^alpha + B / D^beta; a = beta / (alpha + beta)"""\n# E + A / N + B\nx = 1\n')
    assert not any(r.search(_code(p)) for r in PATTERNS.values())


FITS_KEYS = r"(approach2|approach3|power_laws|parabola_n|parabola_d|a_sd_bound|noise_sigma)"
RAW_FITS = re.compile(r"\.get\('" + FITS_KEYS + r"'|\['(power_laws|parabola_n|parabola_d|a_sd_bound|noise_sigma)'\]")


def test_readers_go_through_fitresult():
    """plot/, report/ and forecast/ never index fits.json's sections by hand: FitResult owns its layout."""
    bad = [_rel(p) for p in _files("flops_fit/plot", "flops_fit/report", "flops_fit/forecast")
           if RAW_FITS.search(_code(p))]
    assert not bad, f"{bad} read fits.json as a dict; use flops_fit.fit.result.FitResult's properties"


def _calls_isfinite(node) -> bool:
    return isinstance(node, ast.Call) and (getattr(node.func, "attr", None) or getattr(node.func, "id", "")) \
        == "isfinite"


def test_one_json_cleaner():
    """A function returning `x if isfinite(x) else None` is the JSON cleaner's job: flops_fit.io.json_clean."""
    bad = []
    for p in _files("flops_fit"):
        if _rel(p) == ONE_PLACE["json"]:
            continue
        for fn in ast.walk(ast.parse(p.read_text())):
            if isinstance(fn, ast.FunctionDef):
                for r in ast.walk(fn):
                    if isinstance(r, ast.Return) and isinstance(r.value, ast.IfExp) and _calls_isfinite(r.value.test) \
                            and isinstance(r.value.orelse, ast.Constant) and r.value.orelse.value is None:
                        bad.append(f"{_rel(p)}:{fn.name}")
    assert not bad, f"{bad} clean NaN for JSON again; use flops_fit.io.json_clean"


def test_one_schedule():
    defs = [_rel(p) for p in _files("flops_fit") if re.search(r"^def list_schedule\(", p.read_text(), re.M)]
    assert defs == ["flops_fit/forecast/schedule.py"], defs


# /proc files psutil does not read: the CPU's model name, the NVIDIA driver's GPU list
PROC_ALLOWED = {"flops_fit/forecast/machine.py": "/proc/cpuinfo", "flops_fit/slots.py": "/proc/driver/nvidia"}


def test_processes_and_memory_through_psutil():
    bad = []
    for p in _files("flops_fit", "scripts", "benchmarks", "tests"):
        if p == Path(__file__).resolve():
            continue
        for m in re.finditer(r"/proc/[\w{}./]*|Path\(\"/proc\"\)", p.read_text()):
            if not m.group(0).startswith(PROC_ALLOWED.get(_rel(p), "\0")):
                bad.append(f"{_rel(p)}: {m.group(0)}")
    assert not bad, f"{bad}: use psutil (process_iter, Process, virtual_memory, getloadavg)"


FIGURE_NAMES = {"scaling_laws", "isoflop", "surface", "residuals", "training_curves"}


def test_shared_constants_written_once():
    """The 0.95 level, the "3 sizes per budget" minimum and the figure list live in flops_fit.constants."""
    bad = []
    for p in _files("flops_fit"):
        if _rel(p) == ONE_PLACE["constants"]:
            continue
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.Constant) and type(node.value) is float and node.value == 0.95:
                bad.append(f"{_rel(p)}:{node.lineno}: 0.95 (constants.LEVEL)")
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and node.value.value == 3 \
                    and any(re.search(r"SIZES|POINTS", getattr(t, "id", "")) for t in node.targets):
                bad.append(f"{_rel(p)}:{node.lineno}: 3 sizes (constants.MIN_SIZES_PER_BUDGET)")
            if isinstance(node, (ast.List, ast.Tuple)):
                names = {e.value for e in node.elts if isinstance(e, ast.Constant)} & FIGURE_NAMES
                if len(names) >= 2:
                    bad.append(f"{_rel(p)}:{node.lineno}: a figure list (constants.FIGURES)")
    assert not bad, bad
