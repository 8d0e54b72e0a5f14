"""A WSD cell's first start: its parent cell's kept final checkpoint (``runs/<parent id>/ckpt/``).

The parent is the previous cell of the same size, a sibling folder of the cell's own. Its state (model,
optimizer, schedule position, random generators) is loaded into the cell's prepared objects; the cell's own
checkpoints then go to its own ``ckpt/`` (a kill inside the cell resumes from there, never from the parent again).
"""
from pathlib import Path

from flops_fit.io import BadFile, read_json
from flops_fit.runner import check_result
from flops_fit.train.checkpoint import Checkpointer, fingerprint


def load_parent(spec: dict, run_dir, accelerator) -> dict:
    """Load the parent's final state; return the info the trainer resumes from (its own wall time starts at 0)."""
    w = spec["wsd"]
    parent_dir = Path(run_dir).parent / w["parent"]
    m, problem = check_result(parent_dir)
    if m is None or m.get("status") != "completed":
        # recorded as this cell's failure (the sweep goes on); the parent's own metrics.json says why
        why = f"status {m['status']}" if m else (problem or "no metrics.json")
        raise RuntimeError(f"parent cell {w['parent']} has no completed result ({why}), so this cell cannot "
                           "continue it")
    spec_path = parent_dir / "spec.json"
    parent_fp = fingerprint(read_json(spec_path)) if spec_path.is_file() else ""
    info = Checkpointer(parent_dir / "ckpt", accelerator, parent_fp).load()
    fix = (f"delete {parent_dir / 'metrics.json'} and rerun: the workflow retrains that cell and then this one "
           "(a WSD cell starts from its parent's kept checkpoint)")
    if info is None:
        raise BadFile(f"{parent_dir / 'ckpt'}: the parent cell's kept checkpoint is missing or damaged; {fix}")
    if int(info["step"]) != int(w["start"]):
        raise BadFile(f"{parent_dir / 'ckpt'}: the kept checkpoint is at step {info['step']}, this cell starts at "
                      f"step {w['start']}; {fix}")
    return {"step": int(info["step"]), "units": int(info.get("units", 0)), "init_loss": info.get("init_loss"),
            "wall_s": 0.0, "compile_s": 0.0, "inherited_units": int(info.get("units", 0)),
            "parent_curve": str(parent_dir / "curve.jsonl")}
