"""forecast.md and the printed table: per experiment, per budget, totals, the calibration behind them."""


def fmt_s(s) -> str:
    """12.3 s, 4.5 min, 2.1 h."""
    if s is None:
        return "-"
    if s < 120:
        return f"{s:.1f} s"
    if s < 7200:
        return f"{s / 60:.1f} min"
    return f"{s / 3600:.2f} h"


def _range(lo, mid, hi, f=fmt_s) -> str:
    return f"{f(mid)} [{f(lo)}, {f(hi)}]"


def _money(x) -> str:
    return "-" if x is None else f"{x:,.2f}"


def experiment_table(fc: dict) -> str:
    comp = any(e.get("compile") for e in fc["experiments"])  # the compile column only when a run compiles
    rows = ["| id | budget | N | steps | FLOPs | forecast [range] | MFU | peak memory | fits |" + (" compile |" if comp else ""),
            "|---|---:|---:|---:|---:|---|---:|---:|:-:|" + (":-:|" if comp else "")]
    for e in fc["experiments"]:
        mfu = "-" if e.get("mfu") is None else f"{100 * e['mfu']:.0f} %"
        rows.append(f"| {e['id']} | {e['budget_flops']:.2g} | {e['params']:.3g} | {e['steps']} | {e['flops']:.3g} | "
                    f"{_range(e['seconds_lo'], e['seconds'], e['seconds_hi'])} | {mfu} | {e['peak_mem_mb']:,.0f} MB | "
                    f"{'yes' if e['fits_memory'] else '**NO**'} |" + (f" {'yes' if e.get('compile') else 'no'} |"
                                                                       if comp else ""))
    return "\n".join(rows + ([mfu_note(fc)] if fc.get("peak") else []))


def mfu_note(fc: dict) -> str:
    """What the MFU column means: expected FLOPs / (train + eval + checkpoint seconds) / the measured peak."""
    p = fc["peak"]
    return (f"\nMFU: expected FLOPs / (training + evaluation + checkpoint seconds) / {p['per_job_flops_per_s']:.3g} "
            f"FLOP/s per job ({p['source']}, {p['key']}"
            + (f"; datasheet {p['datasheet_flops_per_s']:.3g}" if p.get("datasheet_flops_per_s") else "")
            + f"). {p['flops_convention']}.")


def budget_table(fc: dict) -> str:
    unit = fc["parallelism"]["device_unit"]
    rows = [f"| budget | runs | FLOPs | {unit}-hours | makespan [range] | cost |", "|---:|---:|---:|---:|---|---:|"]
    for b in fc["budgets"] + [dict(fc["totals"], budget_flops=None, experiments=len(fc["experiments"]))]:
        name = "**total**" if b["budget_flops"] is None else f"{b['budget_flops']:.2g}"
        rows.append(f"| {name} | {b['experiments']} | {b['flops']:.3g} | {b['device_hours']:.3g} | "
                    f"{_range(b['makespan_s_lo'], b['makespan_s'], b['makespan_s_hi'])} | {_money(b['cost'])} |")
    return "\n".join(rows)


def summary_lines(fc: dict) -> list:
    t, par, cal = fc["totals"], fc["parallelism"], fc["calibration"]
    m = cal["machine"]
    per = ", ".join(f"{v} {k[:-1] if v == 1 else k}" for k, v in par["per_job"].items())
    lines = [f"Sweep `{fc['sweep']}` ({fc['mode']}): {len(fc['experiments'])} experiments, {t['flops']:.3g} FLOPs, "
             f"{t['device_hours']:.3g} {par['device_unit']}-hours "
             f"[{t['device_hours_lo']:.3g}, {t['device_hours_hi']:.3g}]; makespan "
             f"{_range(t['makespan_s_lo'], t['makespan_s'], t['makespan_s_hi'])} on {par['jobs']} parallel jobs "
             f"({per} each; lower bound {fmt_s(t['lower_bound_s'])})."]
    if fc.get("pipeline"):
        pl = fc["pipeline"]
        lines.append(f"Whole sweep (snakemake start to last output): {_range(t['sweep_s_lo'], t['sweep_s'], t['sweep_s_hi'])}"
                     f" = DAG build {fmt_s(pl['dag_s'])} + training makespan + collect, fit and plots "
                     f"{fmt_s(pl['tail_s'])}.")
        lines += [f"**Note:** {n}" for n in pl.get("notes") or []]
    if t["cost"] is not None:
        lines.append(f"Cost: {_money(t['cost'])} [{_money(t['cost_lo'])}, {_money(t['cost_hi'])}] "
                     f"at the configured price per {par['device_unit']}-hour.")
    bad = [e for e in fc["experiments"] if not e["fits_memory"]]
    lim = fc.get("memory_limit_mb")
    if bad:
        lines.append(f"**{len(bad)} experiment(s) will not fit in memory** ({lim:,.0f} MB, {fc['memory_limit_source']}): "
                     + ", ".join(e["id"] for e in bad[:5]) + (" ..." if len(bad) > 5 else "")
                     + ". Lower training.batch_size, set training.micro_batch_size, or drop the largest sizes.")
    elif lim:
        lines.append(f"Every experiment fits in memory ({lim:,.0f} MB, {fc['memory_limit_source']}).")
    lines.append(f"Calibrated on {m['device']} ({m['cpu']}), torch {m['torch']}, {cal['threads']} thread(s) x "
                 f"{cal['concurrency']} process(es) side by side, load average {m['loadavg']}: "
                 f"{cal['measured_sizes']} size(s) measured, {cal['cached_sizes']} from the cache, "
                 f"in {cal['cost_s']:.1f} s.")
    return lines


def calibration_table(fc: dict) -> str:
    rows = ["| size | N | FLOPs/step | step [min, max] | eval | checkpoint | start-up | peak memory |",
            "|---|---:|---:|---|---:|---:|---:|---:|"]
    for p in fc["calibration"]["points"]:
        ms = lambda x: f"{x * 1e3:.2f} ms"  # noqa: E731
        size = ", ".join(f"{k}={v}" for k, v in p["size"].items())
        rows.append(f"| {size} | {p['params']:.3g} | {p['flops_per_step']:.3g} | "
                    f"{_range(*p['step_s'], f=ms)} | {fmt_s(p['eval_s'][1])} | {fmt_s(p['ckpt_s'][1])} | "
                    f"{fmt_s(p['startup_s'][1])} | {p['peak_mem_mb']:,.0f} MB |")
    return "\n".join(rows)


def markdown(fc: dict) -> str:
    parts = [f"# Forecast: {fc['sweep']}", "", *summary_lines(fc), "",
             "## Per experiment", "",
             "Forecast seconds = start-up + steps x step time + evaluations + checkpoints (docs/forecast.md); the "
             "range is the calibration's own spread (fastest and slowest timed block), not a guarantee under a "
             "load that changes after calibration.", "", experiment_table(fc), "",
             "## Per budget and in total", "", budget_table(fc), "",
             "Makespan: list scheduling in the workflow's start order (longest forecast first, the `priority` "
             "each train_run job gets from this file), on the parallel jobs above; a WSD cell starts only after "
             "its parent cell.", "",
             *_lr_line(fc), "## Calibration", "", calibration_table(fc), ""]
    prec = (fc.get("precision") or {}).get("markdown")
    if prec:
        parts += [prec.rstrip(), ""]
    return "\n".join(parts)


def _lr_line(fc: dict) -> list:
    md = (fc.get("lr_calibration") or {}).get("markdown")
    return [md, ""] if md else []


def printed(fc: dict) -> str:
    return "\n".join([experiment_table(fc), "", budget_table(fc), "", *summary_lines(fc), *_lr_line(fc)])
