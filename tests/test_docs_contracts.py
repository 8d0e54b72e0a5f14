"""docs/architecture.md's field lists name every field the code writes: an experiment spec of the plan (and its
training keys) and a metrics.json, taken from a real plan and a mock run, so a new field without its line fails."""
import re

from conftest import REPO

DOC = (REPO / "docs" / "architecture.md").read_text()


def _section(title_start):
    start = DOC.index(f"## {title_start}")
    end = DOC.find("\n## ", start + 1)
    return DOC[start:end if end > 0 else None]


def _missing(keys, text):
    return sorted(k for k in keys if not re.search(rf"\b{re.escape(k)}\b", text))


def test_the_spec_and_metrics_lists_name_every_field(tmp_path):
    from flops_fit.config import load_config
    from flops_fit.plan import plan
    from flops_fit.runner import run_experiment
    spec = plan(load_config(["preset=quick", f"results_dir={tmp_path}"]))["experiments"][0]
    spec_doc = _section("Experiment spec")
    assert not _missing(spec, spec_doc), f"docs/architecture.md, Experiment spec: add {_missing(spec, spec_doc)}"
    assert not _missing(spec["training"], spec_doc), \
        f"docs/architecture.md, Experiment spec, training: add {_missing(spec['training'], spec_doc)}"
    metrics = run_experiment(spec, tmp_path / "run")
    m_doc = _section("Results: `metrics.json`")
    assert not _missing(metrics, m_doc), f"docs/architecture.md, metrics.json: add {_missing(metrics, m_doc)}"
