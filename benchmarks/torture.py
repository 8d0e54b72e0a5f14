"""Torture benchmark: kill -9 or SIGTERM the workflow or one of its jobs at random points, rerun the same
command, and count what survives.

    python benchmarks/torture.py --points 20 --seed 0            # mock sweep + a tiny real sweep
    python benchmarks/torture.py --points 3 --real-points 0      # the seeded form the test suite runs

Each point: make work for one stage (remove a run folder for `train`, runs.csv for `collect`, fits.json
for `fit`, plots/ for `plot`), snapshot every completed metrics.json, start `snakemake --cores 2`, wait
until a process of that stage runs, wait a random delay, send SIGKILL or SIGTERM to the workflow or to
that job, let the workflow end, then rerun the same command. Counted:
- reruns that complete without manual steps (exit 0), and those that needed only the one command the
  error line printed (a stale Snakemake lock after kill -9 of the workflow: `snakemake --unlock ...`,
  never run automatically, see README "Troubleshooting");
- completed experiments retrained (a snapshot file rewritten: must be 0) and results lost (must be 0);
- runs whose final loss differs from an uninterrupted sweep's (resumed == uninterrupted), and whether
  the Chinchilla table equals the uninterrupted sweep's.
"""
import argparse
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from flops_fit.signals import descendants  # noqa: E402

SWEEPS = {
    "mock": ["preset=quick", "sweep=torture-mock",
             "overrides=budgets.values=[1e17,1e18,1e19] planner.sizes=3 analysis.include_near_edge=true analysis.bootstrap=20"],
    "real": ["preset=quickstart", "sweep=torture-real",
             "overrides=budgets.values=[6e9,1.2e10] planner.sizes=4 planner.min_steps=20 planner.spread=3 "
             "training.ckpt_every_steps=10 analysis.bootstrap=20 analysis.include_near_edge=true"],
}
STAGES = {"train": "scripts/train_run.py", "collect": "scripts/collect.py", "fit": "scripts/fit.py",
          "plot": "scripts/plot.py"}


def setup(workdir: Path) -> None:
    workdir.mkdir(parents=True, exist_ok=True)
    for name in ("Snakefile", "workflow", "scripts", "config", "profiles", "envs"):
        src, dst = REPO / name, workdir / name
        if dst.exists():
            shutil.rmtree(dst) if dst.is_dir() else dst.unlink()
        (shutil.copytree if src.is_dir() else shutil.copy)(src, dst)


def command(kind):
    return [sys.executable, "-m", "snakemake", "--cores", "2", "--config", *SWEEPS[kind]]


def run(workdir, kind, timeout=1800):
    r = subprocess.run(command(kind), cwd=workdir, capture_output=True, text=True, timeout=timeout)
    return r.returncode, r.stdout + r.stderr


def sweep_dir(workdir, kind):
    return workdir / "results" / SWEEPS[kind][1].split("=")[1]


def results(sdir: Path) -> dict:
    """{run id: (sha256 of metrics.json, final_loss)} of every completed or diverged run."""
    out = {}
    for m in sorted((sdir / "runs").glob("*/metrics.json")):
        try:
            d = json.loads(m.read_bytes())
        except ValueError:
            continue
        if d.get("status") in ("completed", "diverged"):
            out[m.parent.name] = (hashlib.sha256(m.read_bytes()).hexdigest(), d.get("final_loss"))
    return out


def table(sdir: Path):
    p = sdir / "chinchilla_table.csv"
    return p.read_text() if p.is_file() else None


def _cmdline(pid):
    try:
        return " ".join(psutil.Process(pid).cmdline())
    except (psutil.Error, OSError):
        return ""


def make_work(sdir: Path, stage: str, rng: random.Random) -> str:
    if stage == "train":
        runs = sorted((sdir / "runs").iterdir())
        victim = rng.choice(runs)
        shutil.rmtree(victim)
        return f"removed {victim.name}"
    target = {"collect": sdir / "runs.csv", "fit": sdir / "fits.json", "plot": sdir / "plots"}[stage]
    shutil.rmtree(target) if target.is_dir() else target.unlink(missing_ok=True)
    return f"removed {target.name}"


def one_point(workdir, kind, rng, point, ref):
    sdir = sweep_dir(workdir, kind)
    stage = rng.choice(list(STAGES))
    target = rng.choice(["workflow", "job"])
    sig = rng.choice([signal.SIGKILL, signal.SIGTERM])
    delay = rng.uniform(0, 6.0 if stage == "train" and kind == "real" else 0.5)
    work = make_work(sdir, stage, rng)
    before = results(sdir)
    proc = subprocess.Popen(command(kind), cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    landed, t0 = False, time.monotonic()
    while proc.poll() is None and time.monotonic() - t0 < 600:
        jobs = [p for p in descendants(proc.pid) if STAGES[stage] in _cmdline(p)]
        if jobs:
            time.sleep(delay)
            alive = [p for p in jobs if STAGES[stage] in _cmdline(p)]
            victim = proc.pid if target == "workflow" else (alive[0] if alive else None)
            if victim is not None and (target == "workflow" or alive):
                try:
                    os.kill(victim, sig)
                    landed = True
                except ProcessLookupError:
                    pass
            break
        time.sleep(0.05)
    try:
        proc.wait(timeout=600)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    code, out = run(workdir, kind)
    manual = False
    if code != 0 and "snakemake --unlock" in out:
        manual = True  # the printed command, then the same command again
        subprocess.run([sys.executable, "-m", "snakemake", "--unlock", "--cores", "2", "--config", *SWEEPS[kind]],
                       cwd=workdir, capture_output=True, timeout=600)
        code, out = run(workdir, kind)
    after = results(sdir)
    retrained = sum(1 for i, (h, _) in before.items() if i in after and after[i][0] != h)
    lost = sum(1 for i in before if i not in after)
    differs = sum(1 for i, (_, loss) in after.items() if ref["losses"].get(i) != loss)
    row = {"point": point, "sweep": kind, "stage": stage, "target": target, "signal": signal.Signals(sig).name,
           "delay_s": round(delay, 2), "work": work, "landed": landed, "rerun_ok": code == 0 and not manual,
           "needed_unlock": manual, "rerun_exit": code, "retrained": retrained, "lost": lost,
           "loss_differs": differs, "table_equal": table(sdir) == ref["table"], "runs": len(after)}
    if code != 0:
        row["rerun_tail"] = out.strip().splitlines()[-3:]
    return row


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--points", type=int, default=20)
    ap.add_argument("--real-points", type=int, default=None, help="how many of the points use the real sweep "
                    "(default: a third)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workdir", default="/tmp/flops-fit-torture")
    ap.add_argument("--json", help="also write the rows here")
    ap.add_argument("--small", action="store_true", help="a 2-budget mock sweep (6 runs), for the test suite")
    args = ap.parse_args(argv)
    if args.small:
        SWEEPS["mock"] = ["preset=quick", "sweep=torture-mock",
                          "overrides=budgets.values=[1e17,1e18] planner.sizes=3 analysis.include_near_edge=true analysis.bootstrap=5"]
    real_points = args.points // 3 if args.real_points is None else args.real_points
    rng = random.Random(args.seed)
    kinds = ["real"] * real_points + ["mock"] * (args.points - real_points)
    rng.shuffle(kinds)
    work, refdir = Path(args.workdir) / "wf", Path(args.workdir) / "ref"
    shutil.rmtree(args.workdir, ignore_errors=True)
    setup(work)
    setup(refdir)
    refs = {}
    for kind in sorted(set(kinds)):
        t0 = time.monotonic()
        code, out = run(refdir, kind)
        assert code == 0, out[-3000:]
        rdir = sweep_dir(refdir, kind)
        refs[kind] = {"losses": {i: loss for i, (_, loss) in results(rdir).items()}, "table": table(rdir)}
        shutil.copytree(rdir, sweep_dir(work, kind))  # the tortured copy starts complete
        if kind == "real":
            shutil.copytree(refdir / "results" / "data", work / "results" / "data", dirs_exist_ok=True)
        code, out = run(work, kind)  # records Snakemake's metadata for the copied results
        assert code == 0, out[-3000:]
        print(f"reference {kind} sweep: {len(refs[kind]['losses'])} runs, {time.monotonic() - t0:.0f} s",
              file=sys.stderr)
    rows = []
    for point, kind in enumerate(kinds, 1):
        row = one_point(work, kind, rng, point, refs[kind])
        rows.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)
    print(report(rows))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    bad = sum(r["retrained"] + r["lost"] + r["loss_differs"] + (not r["table_equal"]) for r in rows)
    return 1 if bad or not all(r["rerun_ok"] or r["needed_unlock"] for r in rows) else 0


def report(rows) -> str:
    lines = ["| # | sweep | stage | kill | signal | landed | rerun ok | needed unlock | retrained | lost | "
             "loss ≠ uninterrupted | table = uninterrupted |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['point']} | {r['sweep']} | {r['stage']} | {r['target']} | {r['signal']} | "
                     f"{'yes' if r['landed'] else 'no'} | {'yes' if r['rerun_ok'] else 'no'} | "
                     f"{'yes' if r['needed_unlock'] else ''} | {r['retrained']} | {r['lost']} | {r['loss_differs']} | "
                     f"{'yes' if r['table_equal'] else 'NO'} |")
    n = len(rows)
    lines.append("")
    lines.append(f"{n} points ({sum(r['landed'] for r in rows)} kills landed on a live process): reruns complete "
                 f"without manual steps {sum(r['rerun_ok'] for r in rows)}/{n}, after the printed unlock command "
                 f"{sum(r['needed_unlock'] and r['rerun_exit'] == 0 for r in rows)}/{n}; completed experiments "
                 f"retrained {sum(r['retrained'] for r in rows)}, results lost {sum(r['lost'] for r in rows)}, "
                 f"runs whose loss differs from the uninterrupted sweep {sum(r['loss_differs'] for r in rows)}, "
                 f"tables different {sum(not r['table_equal'] for r in rows)}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
