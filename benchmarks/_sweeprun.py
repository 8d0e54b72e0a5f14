"""Shared by benchmarks/forecast_accuracy.py and benchmarks/makespan.py: run the workflow in a fresh copy,
read each job's actual duration, describe the machine."""
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def machine_line() -> str:
    from flops_fit.forecast.machine import cpu_model
    return f"CPU: {cpu_model()}, {os.cpu_count()} cores; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"


def fresh_workflow(root: Path, share_cache_from: Path | None = None) -> Path:
    """A copy of the workflow (as tests/conftest.py's workflow_copy) in root; optionally with a results/.cache
    and results/data copied in (warm plan sizes and prepared data, like a second sweep on the same machine)."""
    root.mkdir(parents=True, exist_ok=True)
    for name in ("Snakefile", "workflow", "scripts", "config", "profiles", "envs"):
        src = REPO / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, root / name)
    if share_cache_from:
        for sub in (".cache", "data"):
            src = share_cache_from / "results" / sub
            if src.is_dir():
                shutil.copytree(src, root / "results" / sub, dirs_exist_ok=True)
    return root


def snakemake(cwd, *args, log=None) -> float:
    """Run snakemake in cwd; return its wall seconds; exit with its output tail on failure."""
    t = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "snakemake", *args], cwd=cwd, text=True, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    if log:
        Path(log).write_text(r.stdout)
    if r.returncode != 0:
        sys.exit(f"snakemake {' '.join(args)} failed:\n{r.stdout[-3000:]}")
    return time.perf_counter() - t


def birth_time(path) -> float:
    """A file's creation time (statx btime, via GNU stat): a job's log is created when its shell starts."""
    out = subprocess.run(["stat", "-c", "%w", str(path)], text=True, capture_output=True).stdout.strip()
    if not out or out == "-":
        raise RuntimeError(f"no birth time for {path} on this file system")
    date, clock, tz = out.split()
    whole, frac = clock.split(".")
    dt = datetime.strptime(f"{date} {whole} {tz}", "%Y-%m-%d %H:%M:%S %z")
    return dt.timestamp() + float("0." + frac)


def job_times(wf: Path, sweep: str) -> dict:
    """{id: (start, end)} of every train_run job, from its log file (created at job start, last written at
    the job's final line: the process's exit is ~0.1 s later)."""
    out = {}
    for log in (wf / "results" / sweep / "logs" / "train").glob("*.log"):  # logs live beside the results
        out[log.stem] = (birth_time(log), log.stat().st_mtime)
    return out


def last_output(wf: Path, sweep: str, exclude=("forecast.json", "forecast.md")) -> float:
    newest = 0.0
    for p in (wf / "results" / sweep).rglob("*"):
        if p.is_file() and p.name not in exclude:
            newest = max(newest, p.stat().st_mtime)
    return newest


def config_args(cfg: list) -> list:
    return ["--config", *cfg] if cfg else []


def read_json(path):
    with open(path) as f:
        return json.load(f)
