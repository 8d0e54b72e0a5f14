"""How many times each planned run sees its training data, and the warning above 4 epochs.

Muennighoff et al. (2023, "Scaling Data-Constrained Language Models"): up to about 4 epochs, repeated tokens
are worth almost as much as new ones; beyond that their value decays fast, so a scaling law fitted on such
runs mixes a data-limited regime into the compute-optimal one. The corpus size comes from the prepared
data's meta.json (``train_tokens``, or ``counts.train`` for images) or, before preparation, from the data
plugin's optional ``corpus_units(cfg)`` (token files: the file size; byte text: the source bytes).
"""
from __future__ import annotations

import json
from pathlib import Path

MAX_EPOCHS = 4.0


def corpus_units(plan: dict) -> int | None:
    """Training-split data units of the plan's dataset, or None when unknown (not prepared, no hook)."""
    exps = plan.get("experiments") or []
    if not exps:
        return None
    data = exps[0].get("data")
    if not data:
        return None
    meta_path = Path(data.get("dir", "")) / "meta.json"
    try:
        meta = json.loads(meta_path.read_text())
        n = meta.get("train_tokens") or (meta.get("counts") or {}).get("train") or meta.get("train_units")
        if n:
            return int(n)
    except (OSError, ValueError, AttributeError):
        pass
    try:
        from .plugins import load_data_plugin
        fn = getattr(load_data_plugin(data["plugin"]), "corpus_units", None)
        n = fn(dict(data["cfg"])) if fn else None
    except Exception:  # noqa: BLE001 - an estimate for a table column must never stop planning
        return None
    return int(n) if n else None


def epochs_cell(spec: dict, corpus: int | None) -> str:
    return f"{spec['data_units'] / corpus:.2f}" if corpus else "?"


def check_epochs(cfg: dict | None, plan: dict, corpus: int | None = None) -> list[str]:
    """One warning line when planned runs repeat their data more than MAX_EPOCHS times (else [])."""
    corpus = corpus if corpus is not None else corpus_units(plan)
    if not corpus:
        return []
    over = [e for e in plan["experiments"] if e["data_units"] / corpus > MAX_EPOCHS]
    if not over:
        return []
    worst = max(e["data_units"] / corpus for e in over)
    unit = over[0].get("unit", "units")
    return [f"{len(over)} of {len(plan['experiments'])} runs see their data more than {MAX_EPOCHS:g} times "
            f"(up to {worst:.1f} epochs of {corpus:,} {unit}): beyond ~4 epochs repeated data is worth less than "
            "new data (Muennighoff et al. 2023) and the fit mixes in a data-limited regime; use a larger corpus "
            "or smaller budgets"]
