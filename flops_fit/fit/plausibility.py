"""Warnings on the answer: a table row whose D*/N* or N* lies far outside what the runs themselves covered.

A fit can return a recommendation no run supports (e.g. D*/N* = 0.023 tokens per parameter from runs at 15-1000):
the law is then extrapolated in a direction the data never saw. `row_warnings` names such rows; the factor is
RANGE_FACTOR beyond the data's own range. N* at a target beyond the runs' largest C is compared with the largest N
grown by target / that C (all of the extra compute spent on N), so only what lies beyond the extrapolation the
user asked for is flagged.
"""
import numpy as np

RANGE_FACTOR = 3.0   # beyond the data's range by more than this factor -> a warning


def _beyond(x, lo, hi) -> float:
    """How many times x lies outside [lo, hi] (1.0 inside)."""
    if not (np.isfinite(x) and x > 0):
        return 1.0
    return max(lo / x, x / hi, 1.0)


def _g(x) -> str:
    return f"{x:.2g}" if x < 100 else f"{x:.3g}"


def row_warning(row, used) -> str:
    """'' or one sentence naming each way the row lies outside the data's range (used: the runs fitted)."""
    N, D, C = (used[k].to_numpy(float) for k in ("N", "D", "C"))
    if len(N) == 0:
        return ""
    r = D / N
    out = []
    f = _beyond(row.ratio, r.min(), r.max())
    if f > RANGE_FACTOR:
        out.append(f"D*/N* = {_g(row.ratio)} is outside the data's range of D/N [{_g(r.min())}, {_g(r.max())}] "
                   f"by {f:.3g}x")
    grow = max(row.budget / C.max(), 1.0)   # all of the extra compute in N: the most extrapolation can give N
    lo, hi = N.min(), N.max() * grow
    f = _beyond(row.n_star, lo, hi)
    if f > RANGE_FACTOR:
        span = f" (the largest N x {grow:.3g}, the extrapolation asked for)" if grow > 1 else ""
        out.append(f"N* = {row.n_star:.3g} is outside the data's range of N [{lo:.3g}, {hi:.3g}]{span} by {f:.3g}x")
    return "; ".join(out)


def table_warnings(table, used) -> tuple:
    """A warning string per table row (in the table's order); '' where the row is within range."""
    return tuple(row_warning(row, used) for row in table)


def warning_notes(table, warnings) -> list:
    return [f"WARNING {r.approach} at C = {r.budget:.3g}: {w}: the law is extrapolated where no run was; check "
            "the surface and residual figures before using this row" for r, w in zip(table, warnings) if w]
