"""The Snakemake files: formatted (snakefmt), clean under `snakemake --lint`, and every shared name defined once,
in workflow/rules/common.smk, never reassigned by another file. Walks the Snakefile and every workflow/rules/*.smk."""
import re
import subprocess
import sys

import pytest

from conftest import REPO, snakemake

FILES = [REPO / "Snakefile", *sorted((REPO / "workflow" / "rules").glob("*.smk"))]
COMMON = REPO / "workflow" / "rules" / "common.smk"
# black-formatted code (snakefmt): an assignment is "name = ...", a rule's keyword argument "name=..."
DEFINES = re.compile(r"^(?P<indent>[ ]*)(?:(?:def|class)\s+(?P<fn>\w+)|(?P<var>[A-Za-z_]\w*)(?:\s*:\s*[^=]+)?\s+=\s)")


def test_every_snakemake_file_is_formatted_with_snakefmt():
    r = subprocess.run([sys.executable, "-m", "snakefmt", "--check", *map(str, FILES)], cwd=REPO, text=True,
                       capture_output=True)
    assert r.returncode == 0, f"run: snakefmt Snakefile workflow/rules/\n{r.stderr[-3000:]}"


@pytest.mark.slow  # Snakemake parses the whole workflow twice (~40 s on 2 cores)
@pytest.mark.parametrize("overrides", [[], ["planner__extend=1"]], ids=["static", "steered"])
def test_snakemake_lint_is_clean(workflow_copy, tmp_path, overrides):
    """--lint on the static workflow and on a steered one (adaptive.smk's checkpoint exists only then)."""
    r = snakemake(workflow_copy, "--lint", "--config", "preset=mock", f"results_dir={tmp_path / 'res'}", *overrides,
                  timeout=300)
    assert r.returncode == 0 and "Congratulations, your workflow is in a good condition" in r.stdout, r.stdout[-3000:]


def _definitions(path):
    """{name: [line numbers]} of the names a file assigns or defines with def/class (imports excepted)."""
    found = {}
    for i, line in enumerate(path.read_text().splitlines(), 1):
        m = DEFINES.match(line)
        if m and len(m["indent"]) <= 4:  # module level, or inside a top-level if/try block
            found.setdefault(m["fn"] or m["var"], []).append(i)
    return found


def _code(path):
    """The file without its comments (enough for finding where a name is used)."""
    return "\n".join(line.split("#", 1)[0] for line in path.read_text().splitlines())


def test_shared_names_are_defined_once_in_common_smk():
    defs = {p: _definitions(p) for p in FILES}
    problems = []
    owners = {}
    for p, names in defs.items():
        for name, lines in names.items():
            owners.setdefault(name, []).append(p)
            if len(lines) > 1 and not name.startswith("_"):
                problems.append(f"{p.relative_to(REPO)}: {name} assigned {len(lines)} times (lines {lines})")
    for name, files in owners.items():
        if len(files) > 1:
            problems.append(f"{name} defined in {len(files)} files: {', '.join(str(f.relative_to(REPO)) for f in files)}")
        elif files[0] != COMMON:
            users = [p for p in FILES if p != files[0] and re.search(rf"\b{re.escape(name)}\b", _code(p))]
            if users:
                problems.append(f"{name} is defined in {files[0].relative_to(REPO)} and used in "
                                f"{', '.join(str(u.relative_to(REPO)) for u in users)}: define it in common.smk")
    assert not problems, "\n".join(problems)


def test_the_name_check_sees_a_reassignment_and_a_borrowed_name(tmp_path, monkeypatch):
    """The check above can fail: a second file reassigning SPECS, and a name used outside its own file."""
    common = tmp_path / "common.smk"
    common.write_text("SPECS = {}\n\n\ndef all_metrics():\n    return []\n")
    other = tmp_path / "other.smk"
    other.write_text("if STEERING:\n    SPECS = dict()\n\nPARSED_AT = 1\n")
    third = tmp_path / "third.smk"
    third.write_text("rule x:\n    params:\n        t=PARSED_AT,\n")
    monkeypatch.setattr(sys.modules[__name__], "FILES", [common, other, third])
    monkeypatch.setattr(sys.modules[__name__], "COMMON", common)
    monkeypatch.setattr(sys.modules[__name__], "REPO", tmp_path)
    with pytest.raises(AssertionError) as e:
        test_shared_names_are_defined_once_in_common_smk()
    assert "SPECS defined in 2 files" in str(e.value)
    assert "PARSED_AT is defined in other.smk and used in third.smk" in str(e.value)
