"""Sweeps that steer themselves (docs/adaptive.md).

- predict.py: Approach 2 on the finished budgets -> predicted N*(C) at a later budget, with an interval.
- steer.py:   that prediction -> the later budget's grid (centre, spread), with hysteresis and a fallback.
- extend.py:  a budget whose IsoFLOP vertex is at or near an edge of its sizes -> sizes beyond that edge.
- noise.py:   run-to-run noise measured from seed replicates (fed to the fits' design check and Huber auto).
- rounds.py:  one planning round of one budget: a pure function of the config and the results it is given.
- driver.py:  the same rounds run in-process (benchmarks, tests); the workflow runs them as checkpoints.
- dag.py:     the workflow's view of the round files: specs as rounds appear, a budget's ids through the checkpoint.

Nothing is imported here: the fits import noise.py alone (flops_fit.fit.analyze), without the planner.
"""
