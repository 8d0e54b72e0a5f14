"""The compute constraint under which Approach 3 turns its surface L(N, D) into N*(C), D*(C), L*(C).

A transformer trains at ~6N FLOPs per token, so C = kappa * N * D with one constant kappa. Other models do not:
an LSTM's FLOPs per parameter per token vary 1.2-5.7x across its sizes, a CNN's 48-223x (a large input layer has
few parameters and most of the FLOPs). `ComputeModel` holds the measured compute per data unit as a function of
size, fpu(N), and the optimum is the minimum of L(N, C / fpu(N)) over N.

Measured fpu(N): per run fpu = C / D (a sweep records flops_executed = flops_per_unit * data_units, so this is the
planner's measured FLOPs per unit; an external table with C, N, D gives the same), or a size table (N, fpu).
  - Knots: one per distinct size, log fpu = the median over its runs; made non-decreasing in log N by isotonic
    regression (pool adjacent violators; exact measurements are already monotone and pass unchanged).
  - Between knots: a monotone cubic Hermite in (log N, log fpu) (pchip slopes), so fpu(N) is smooth: a
    piecewise-linear log fpu has kinks, and the argmin sticks to them (bootstrap replicates pile up on one size).
  - Beyond the sampled sizes: the outermost segment's log-log slope continues (fpu ~ N^s there). Above the
    largest size a slope <= 0 (a flat, pooled end) is replaced by 1 (fpu ~ N), else N* would be unbounded.
    One size only: fpu ~ N (kappa constant).
  - If fpu / N varies by <= 1e-6 relative across the knots, the model is exactly C = kappa * N * D.

Optimum: the argmin over x = log N of L(x) = E + A e^(-alpha x) + B (C / fpu(e^x))^(-beta). Between the knots: the
best of a 240-point grid, refined by golden-section search in its cell (to ~1e-11 in log N). On a ray beyond the
knots, log fpu = y0 + s (x - x0) and L is a sum of two exponentials, convex in x, with its stationary point in
closed form. The best of the three is the argmin, vectorized over parameter sets (bootstrap replicates) and
budgets. For kappa constant it is Chinchilla's closed form, N* = G (C/kappa)^a.

Exponents: a = the least-squares slope of log N*(C) on log C over the swept budgets (b: the same for D*). Under
C = kappa N D it equals beta / (alpha + beta) at any budgets; otherwise N* is not a power law in C and a depends on
the budgets it is read over, which are the table's swept budgets.
"""
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .result import closed_form_log_n, surface_exponents, surface_loss

PROPORTIONAL_TOL = 1e-6   # relative spread of fpu/N below which C = kappa N D holds exactly
WARN_SPREAD = 0.05        # warn when max/min of fpu/N across the sizes exceeds 1 + this


def _isotonic(y, w):
    """Non-decreasing least-squares fit of y with weights w (pool adjacent violators)."""
    vals, wts, counts = [], [], []
    for yi, wi in zip(y, w):
        vals.append(float(yi)), wts.append(float(wi)), counts.append(1)
        while len(vals) > 1 and vals[-2] > vals[-1]:
            v, wt, c = vals.pop(), wts.pop(), counts.pop()
            vals[-1] = (vals[-1] * wts[-1] + v * wt) / (wts[-1] + wt)
            wts[-1] += wt
            counts[-1] += c
    return np.repeat(vals, counts)


@dataclass(frozen=True)
class ComputeModel:
    """fpu(N): training FLOPs per data unit at size N. C = fpu(N) * D."""
    log_n: tuple           # knots: natural log of the sampled sizes, increasing
    log_f: tuple           # log fpu at the knots (non-decreasing)
    slopes: tuple          # len(knots) + 1 log-log slopes: below the first knot, between knots, above the last
    kappa: float           # median fpu / N over the runs (the flops_per_nd of C = kappa N D)
    kappa_range: tuple     # (min, max) of fpu / N over the knots
    proportional: bool     # True: exactly C = kappa * N * D
    source: str            # where fpu came from

    # ---- construction
    @classmethod
    def constant(cls, kappa=6.0, source="assumed C = 6 N D"):
        k = float(kappa)
        return cls((0.0,), (float(np.log(k)),), (1.0, 1.0), k, (k, k), True, source)

    @classmethod
    def from_sizes(cls, N, fpu, *, kappa=None, source="size table"):
        """From per-run or per-size (N, fpu) pairs: a knot per distinct N (median log fpu)."""
        N, fpu = np.asarray(N, float).ravel(), np.asarray(fpu, float).ravel()
        ok = np.isfinite(N) & np.isfinite(fpu) & (N > 0) & (fpu > 0)
        if not ok.any():
            raise ValueError("compute model: no finite positive (N, flops per unit) pair")
        N, fpu = N[ok], fpu[ok]
        ratio = fpu / N
        kap = float(np.median(ratio)) if kappa is None else float(kappa)
        logN, logF = np.log(N), np.log(fpu)
        key = np.round(logN, 9)             # one size: the same N up to round-off
        keys, inv = np.unique(key, return_inverse=True)
        xs = np.array([np.median(logN[inv == k]) for k in range(len(keys))])
        ys = np.array([np.median(logF[inv == k]) for k in range(len(keys))])
        cnt = np.bincount(inv).astype(float)
        k_at = np.exp(ys - xs)
        krange = (float(k_at.min()), float(k_at.max()))
        if len(xs) == 1 or krange[1] / krange[0] - 1 <= PROPORTIONAL_TOL:
            m = cls.constant(kap, source)
            return cls(m.log_n, m.log_f, m.slopes, kap, krange, True, source)
        ys = _isotonic(ys, cnt)
        inner = np.diff(ys) / np.diff(xs)
        hi = inner[-1] if inner[-1] > 0 else 1.0
        slopes = (float(inner[0]), *map(float, inner), float(hi))
        return cls(tuple(map(float, xs)), tuple(map(float, ys)), slopes, kap, krange, False, source)

    @classmethod
    def from_runs(cls, N, D, C):
        """fpu = C / D per run; C None: C = 6 N D."""
        if C is None:
            return cls.constant(6.0)
        N, D, C = (np.asarray(x, float) for x in (N, D, C))
        return cls.from_sizes(N, C / D, source="runs: fpu = C / D")

    # ---- evaluation
    @property
    def spread(self) -> float:
        """max/min of fpu / N across the sampled sizes."""
        return self.kappa_range[1] / self.kappa_range[0]

    @cached_property
    def _derivs(self):
        """d log fpu / d log N at the knots: Fritsch-Carlson (pchip) harmonic means inside, which keep the cubic
        monotone; the end segments' slopes at the ends, so the extrapolation rays join smoothly."""
        x, y = np.array(self.log_n), np.array(self.log_f)
        h, sec = np.diff(x), np.diff(y) / np.diff(x)
        d = np.empty(len(x))
        d[0], d[-1] = sec[0], sec[-1]
        if len(x) > 2:
            w1, w2 = 2 * h[1:] + h[:-1], h[1:] + 2 * h[:-1]
            with np.errstate(all="ignore"):
                hm = (w1 + w2) / (w1 / sec[:-1] + w2 / sec[1:])
            d[1:-1] = np.where((sec[:-1] > 0) & (sec[1:] > 0), hm, 0.0)
        return d

    @cached_property
    def _knots(self):
        return np.array(self.log_n), np.array(self.log_f)

    def log_fpu(self, logN):
        """log fpu at log N (natural logs): monotone cubic Hermite between the knots, straight rays beyond."""
        logN = np.asarray(logN, float)
        if self.proportional:
            return np.log(self.kappa) + logN
        x, y, d = self._knots[0], self._knots[1], self._derivs
        j = np.clip(np.searchsorted(x, logN, side="right") - 1, 0, len(x) - 2)
        h = x[j + 1] - x[j]
        t = (logN - x[j]) / h
        inside = (t * t * (3 - 2 * t)) * (y[j + 1] - y[j]) + y[j] + h * t * (1 - t) * ((1 - t) * d[j] - t * d[j + 1])
        below = y[0] + self.slopes[0] * (logN - x[0])
        above = y[-1] + self.slopes[-1] * (logN - x[-1])
        return np.where(logN < x[0], below, np.where(logN > x[-1], above, inside))

    def fpu(self, N):
        return np.exp(self.log_fpu(np.log(np.asarray(N, float))))

    def _loss(self, x, E, A, B, al, be, logC):
        return E + A * np.exp(-al * x) + B * np.exp(-be * (logC - self.log_fpu(x)))

    def optimum(self, E, A, B, alpha, beta, C, grid=240, iters=45):
        """(N*, D*, L*) minimizing L(N, D) subject to fpu(N) * D = C, broadcast over parameter arrays (shape P)
        and budgets C (shape M): arrays of shape P + M. Between the knots: the best of a grid in log N, refined by
        golden-section search in its cell; on the rays beyond the knots (fpu a power law): the closed form."""
        out_shape = np.broadcast(*(np.asarray(p, float) for p in (E, A, B, alpha, beta))).shape + np.shape(C)
        E, A, B, al, be = (np.asarray(p, float)[..., None] for p in (E, A, B, alpha, beta))
        logC = np.log(np.atleast_1d(np.asarray(C, float)))
        with np.errstate(all="ignore"):   # extreme replicates (alpha or beta ~ 0, A or B = 0) give inf / nan
            if self.proportional:
                x = closed_form_log_n(A, B, al, be, logC, np.log(self.kappa))
            else:
                kx, ky = np.array(self.log_n), np.array(self.log_f)
                cands = []
                for s, x0, y0, lo, hi in ((self.slopes[0], kx[0], ky[0], -np.inf, kx[0]),
                                          (self.slopes[-1], kx[-1], ky[-1], kx[-1], np.inf)):
                    # ray log fpu = y0 + s (x - x0): dL/dx = 0 at the closed form; s <= 0: L falls along it
                    logK = np.log(B) - be * logC + be * (y0 - s * x0)
                    xs = (np.log(al * A) - np.log(be * s) - logK) / (al + be * s) if s > 0 else np.full_like(logK, hi)
                    cands.append(np.clip(np.nan_to_num(xs, nan=hi), lo, hi))
                g = np.linspace(kx[0], kx[-1], grid)
                Lg = self._loss(g, E[..., None], A[..., None], B[..., None], al[..., None], be[..., None],
                                logC[..., None])
                i = np.argmin(np.where(np.isfinite(Lg), Lg, np.inf), -1)
                lo, hi = g[np.maximum(i - 1, 0)], g[np.minimum(i + 1, grid - 1)]
                phi = (np.sqrt(5) - 1) / 2
                for _ in range(iters):
                    c, d = hi - phi * (hi - lo), lo + phi * (hi - lo)
                    left = self._loss(c, E, A, B, al, be, logC) <= self._loss(d, E, A, B, al, be, logC)
                    hi, lo = np.where(left, d, hi), np.where(left, lo, c)
                cands.append((lo + hi) / 2)
                X = np.stack(np.broadcast_arrays(*cands), -1)
                Lx = self._loss(X, E[..., None], A[..., None], B[..., None], al[..., None], be[..., None],
                                logC[..., None])
                Lx = np.where(np.isfinite(Lx), Lx, np.inf)
                x = np.take_along_axis(X, np.argmin(Lx, -1)[..., None], -1)[..., 0]
                x = np.where(np.isfinite(np.min(Lx, -1)), x, np.nan)
            N = np.exp(x)
            D = np.exp(logC - self.log_fpu(x))
            L = surface_loss(N, D, E, A, B, al, be)
        return tuple(np.broadcast_to(q, q.shape).reshape(out_shape) for q in np.broadcast_arrays(N, D, L))

    def exponents(self, E, A, B, alpha, beta, budgets):
        """(a, b): least-squares log-log slopes of N*(C), D*(C) over the budgets, broadcast over parameters."""
        if self.proportional:
            return surface_exponents(np.asarray(alpha, float), np.asarray(beta, float))
        lc = np.log(np.asarray(budgets, float))
        N, D, _ = self.optimum(E, A, B, alpha, beta, budgets)
        if len(np.unique(lc)) < 2:
            nan = np.full(np.shape(N)[:-1], np.nan)
            return nan, nan
        w = (lc - lc.mean()) / np.sum((lc - lc.mean()) ** 2)
        with np.errstate(all="ignore"):
            return np.log(N) @ w, np.log(D) @ w

    # ---- reporting
    def describe(self) -> str:
        if self.proportional:
            return f"C = kappa N D, kappa = {self.kappa:.4g} ({self.source})"
        n = np.exp(self.log_n)
        return (f"measured fpu(N) ({self.source}), log-log interpolation over {len(n)} sizes "
                f"(N = {n[0]:.3g} to {n[-1]:.3g}), end slopes continued beyond")

    def warning(self):
        """A line when fpu / N varies by more than WARN_SPREAD across the sizes, else None."""
        if self.spread - 1 <= WARN_SPREAD:
            return None
        lo, hi = self.kappa_range
        return (f"compute is not proportional to N*D: FLOPs per parameter per data unit (fpu/N) range "
                f"{lo:.3g}-{hi:.3g} ({self.spread:.3g}x) across the runs' sizes, so C = kappa N D would misplace "
                f"N*(C) and D*(C); Approach 3 used the measured fpu(N), and its a, b are log-log slopes of N*(C), "
                f"D*(C) over the swept budgets, not beta/(alpha+beta)")

    def to_dict(self) -> dict:
        return {"model": "C = kappa * N * D" if self.proportional else "C = fpu(N) * D",
                "description": self.describe(), "source": self.source, "kappa_median": self.kappa,
                "kappa_min": self.kappa_range[0], "kappa_max": self.kappa_range[1],
                "interpolation": "monotone cubic Hermite in (ln N, ln fpu) through the knots (pchip slopes; isotonic knots)",
                "extrapolation": "straight in (ln N, ln fpu) beyond the knots with slopes[0] below and slopes[-1] above",
                "knots_ln_N": list(self.log_n), "knots_ln_fpu": list(self.log_f), "slopes": list(self.slopes),
                "proportional": self.proportional}

    @classmethod
    def from_dict(cls, d: dict):
        """Rebuild from to_dict() (for plots: evaluate, never refit). None or {} -> C = 6 N D."""
        if not d or not d.get("knots_ln_N"):
            return cls.constant(6.0)
        k = float(d.get("kappa_median") or 6.0)
        return cls(tuple(d["knots_ln_N"]), tuple(d["knots_ln_fpu"]), tuple(d["slopes"]), k,
                   (float(d.get("kappa_min") or k), float(d.get("kappa_max") or k)), bool(d.get("proportional")),
                   str(d.get("source", "")))


def compute_fields(fit) -> dict:
    """fits.json's approach3 compute entries for a SurfaceFit: the model used, its knots, the warning."""
    cm = fit.compute_model
    return {"compute_model": cm.describe(), "compute": cm.to_dict(), "compute_warning": cm.warning(),
            "exponent_budgets": list(fit.budgets)}


def exponent_forms(fit) -> tuple:
    if fit.compute_model.proportional:
        return "beta/(alpha+beta)", "alpha/(alpha+beta)"
    return ("least-squares slope of ln N*(C) on ln C over exponent_budgets, N*(C) = argmin L(N, C/fpu(N))",
            "least-squares slope of ln D*(C) on ln C over exponent_budgets, D* = C/fpu(N*)")
