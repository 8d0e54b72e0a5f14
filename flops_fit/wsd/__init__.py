"""Warmup-stable-decay sweeps (WSD-S, docs/wsd.md): one run per model size, many data sizes.

``planner.schedule: wsd`` plans a shared size ladder x the budgets' data sizes (``flops_fit.wsd.plan``). Each size
trains once: a cell is the point where its run has spent one budget; the learning rate decays in-run to that cell
(``flops_fit.wsd.cooldown``: a fraction of the period since the previous cell, with a floor in optimizer steps),
the held-out loss right after the decay is the cell's loss, and training continues from the decayed state. Cell k
of a size is its own job starting from cell k-1's kept checkpoint (workflow/rules/wsd.smk, ``flops_fit.wsd.resume``).
``flops_fit.wsd.compute`` writes ``<results_dir>/<sweep>/compute.json``: the FLOPs trained against what the same
cells cost as separate cosine runs.
"""
