"""The time left while a sweep runs: the forecast of the unfinished runs, corrected by how the finished runs
compared with their forecast, list-scheduled (longest first) on the job slots.

The workflow prints it under Snakemake's "Finished jobid: ... (Rule: train_run)" line (workflow/rules/timing.smk);
`Eta(...).line()` works anywhere. Nothing here is printed without a forecast.json.

A steered sweep (docs/adaptive.md) re-plans its later budgets as it runs: `experiments` is then a function
returning the experiments planned so far (the rounds written, the prior grid of the rest), read at each
estimate; a run the forecast did not plan (a re-centred or added size) is forecast with the forecast's own time
model on its calibration points (forecast.json `calibration.points`).
"""
import math
import time
from pathlib import Path

from .actual import load_forecast_json, run_actual
from .schedule import list_schedule


def _fmt(s: float) -> str:
    return f"{s:.0f} s" if s < 90 else f"{s / 60:.1f} min" if s < 5400 else f"{s / 3600:.1f} h"


class Eta:
    def __init__(self, sweep_dir, ids, slots: int, forecast_path=None, experiments=None):
        self.sweep_dir, self.ids, self.slots = Path(sweep_dir), list(ids), max(1, int(slots))
        self.forecast_path = Path(forecast_path or self.sweep_dir / "forecast.json")
        self.experiments = experiments   # None, or a function -> the current experiment specs (steered sweeps)
        self._actual = {}          # id -> actual seconds of a finished run (cached: a finished run stays finished)
        self._model = None

    def _seconds_of_unplanned(self, fc: dict, specs: list) -> dict:
        """id -> forecast seconds of specs the forecast did not plan, from its calibration points."""
        from .build import experiment_forecast
        from .timemodel import TimeModel
        pts = (fc.get("calibration") or {}).get("points") or []
        if not specs or not pts:
            return {}
        if self._model is None:
            self._model = TimeModel(pts, mock=fc.get("mode") == "mock")
        return {e["id"]: experiment_forecast(e, self._model, math.inf)["seconds"] for e in specs}

    def estimate(self) -> dict | None:
        """{done, total, ratio, left_s, finish_at, forecast_total_s} or None without a forecast."""
        fc = load_forecast_json(self.forecast_path)
        if fc is None:
            return None
        secs = {e["id"]: float(e["seconds"]) for e in fc["experiments"] if e.get("seconds") is not None}
        follows = {e["id"]: e.get("after") for e in fc["experiments"]}   # a WSD cell starts after its parent
        if self.experiments is not None:
            specs = list(self.experiments())
            self.ids = [e["id"] for e in specs]
            secs.update(self._seconds_of_unplanned(fc, [e for e in specs if e["id"] not in secs]))
        left, num, den = [], 0.0, 0.0
        for i in self.ids:
            run_dir = self.sweep_dir / "runs" / i
            if i not in self._actual and (run_dir / "metrics.json").is_file():
                self._actual[i] = run_actual(run_dir)["actual_s"]
            if i in self._actual:
                if i in secs and math.isfinite(self._actual[i]):
                    num, den = num + self._actual[i], den + secs[i]
            elif i in secs:
                left.append(i)
        ratio = num / den if den > 0 else 1.0
        at = {i: k for k, i in enumerate(left)}
        after = [at.get(follows.get(i)) for i in left]   # None once the parent has finished
        left = [ratio * secs[i] for i in left]
        left_s = list_schedule(left, priorities=left, slots=self.slots, after=after)["makespan_s"]   # longest first
        return {"done": len(self._actual), "total": len(self.ids), "ratio": ratio, "measured": den > 0,
                "left_s": left_s, "finish_at": time.time() + left_s,
                "forecast_total_s": (fc.get("totals") or {}).get("makespan_s")}

    def line(self) -> str | None:
        e = self.estimate()
        if e is None:
            return None
        corr = (f"runs take {e['ratio']:.2f}x their forecast so far" if e["measured"]
                else "no finished run to correct the forecast yet")
        when = time.strftime("%H:%M", time.localtime(e["finish_at"]))
        return (f"ETA: {e['done']} of {e['total']} runs done; {corr}; ~{_fmt(e['left_s'])} of training left on "
                f"{self.slots} slot(s) (done around {when}, then fit and plots)")
