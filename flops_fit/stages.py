"""The pipeline stages as functions of files: what the ff-* commands and the Snakemake scripts both call."""
from pathlib import Path

from .io import BadFile, atomic_write_json, read_json, read_json_or_explain
from .plan import NON_RESULT_TRAINING_KEYS, format_plan


def record_plan(p: dict, out, log=None) -> dict:
    """Write the plan the workflow's DAG was built from (rule plan): never re-composed from config/."""
    atomic_write_json(out, p)
    summary = f"wrote {out}: {len(p['experiments'])} experiments, plan {plan_info(p)['hash']}"
    if log:
        Path(log).write_text(format_plan(p) + "\n" + summary + "\n")
    return p


def plan_info(p: dict, path=None) -> dict:
    """What fits.json records about the plan its fit saw: the plan's hash and its experiment count."""
    from .config import stable_hash
    info = {"hash": stable_hash(p), "experiments": len(p.get("experiments", [])),
            "budgets": len({e["budget_flops"] for e in p.get("experiments", [])})}
    if path is not None:
        info["file"] = str(path)
    return info


def split_spec(spec: dict):
    """(result-relevant spec, bookkeeping options): only the first decides whether a job must rerun."""
    core = dict(spec, training={k: v for k, v in spec["training"].items() if k not in NON_RESULT_TRAINING_KEYS})
    core.pop("lr_source", None)  # where the LR came from (rule | calibrated): the LR itself is in training
    runtime = {k: v for k, v in spec["training"].items() if k in NON_RESULT_TRAINING_KEYS}
    return core, runtime


def prepare_data(plugin_path: str, data_cfg: dict, out_dir) -> dict:
    """Run the data plugin's one-time preparation into out_dir; meta.json is written last, atomically."""
    from .plugins import load_data_plugin
    out_dir = Path(out_dir)
    meta_path = out_dir / "meta.json"
    if meta_path.is_file():
        meta = read_json_or_explain(meta_path, f"delete {out_dir} and rerun (prepare_data rebuilds it)")
        if not isinstance(meta, dict):
            raise BadFile(f"{meta_path}: not a JSON object; delete {out_dir} and rerun (prepare_data rebuilds it)")
        return meta
    data = load_data_plugin(plugin_path)
    out_dir.mkdir(parents=True, exist_ok=True)
    meta = data.prepare(dict(data_cfg), str(out_dir))
    atomic_write_json(meta_path, meta)
    return meta


def ensure_data(spec: dict) -> None:
    if spec["mode"] == "real":
        prepare_data(spec["data"]["plugin"], spec["data"]["cfg"], spec["data"]["dir"])


def fit_scaling_laws(runs, out_dir, analysis: dict, *, unit="tokens", quiet=False, sweep_targets=None, plan=None):
    """Stage fit: fit the scaling laws to a run table (runs.csv or an external CSV/JSONL) and write fits + tables
    (one folder per analysis.group_by value). sweep_targets: the sweep's budgets.targets, used when analysis.targets
    is null. ``plan``: the plan.json path the runs came from; fits.json records its hash and size ("plan").
    The predictions (flops_fit.predict: laws chosen out of sample, holdout, rollout, analysis.predict) are computed
    after each fit, on its runs, and written into the same fits.json: the fit never imports predict."""
    from .fit.session import fit_table
    from .predict.session import predict_outputs, summary_lines, validate
    validate(analysis)   # the prediction settings, one line each, before any fitting
    extra = {"plan": plan_info(read_json(plan), plan)} if plan else None
    results = fit_table(runs, out_dir, analysis, unit=unit, sweep_targets=sweep_targets, quiet=quiet, extra=extra,
                        fields=predict_outputs, lines=summary_lines)
    return results[0] if len(results) == 1 and not analysis.get("group_by") else results


analyze = fit_scaling_laws   # the former name


def visualize(sweep_dir, out_dir=None) -> list:
    """Draw every figure from the saved results (no refitting); returns the files written."""
    from .plot import plot_all
    sweep_dir = Path(sweep_dir)
    return plot_all(sweep_dir, Path(out_dir) if out_dir else sweep_dir / "plots")
