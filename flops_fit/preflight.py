"""What the workflow checks while Snakemake builds its DAG (workflow/rules/common.smk), one line each.

- ``workflow_plan``: compose the config and plan it; a bad config, plugin or an unwritable results
  folder stops the workflow with one ``flops-fit: error:`` line (no traceback), exit status 1.
- ``check_results``: a metrics.json that does not parse or validate, or a ``failed`` record, counts as
  missing. A real run sets it aside (``metrics.json.bad`` / ``.failed``) so Snakemake schedules the
  experiment again; a dry run (``-n``) only says what the real run will do and moves nothing.
- ``stale_lock``: a Snakemake lock on this sweep's files left by a dead process: the one line says
  exactly what to run. It is never removed automatically: ``.snakemake/`` is shared by every sweep of
  the checkout and ``--unlock`` frees a live sibling sweep's locks too.
"""
import os
import shlex
import sys
from pathlib import Path

import psutil


def say(msg: str) -> None:
    print(f"flops-fit: {msg}", file=sys.stderr, flush=True)


def fail(msg: str, code: int = 1):
    say(f"error: {msg}")
    sys.exit(code)


_INSPECT = ("--report", "--unlock", "--lint", "--summary", "-S", "--detailed-summary", "-D", "--list", "-l",
            "--dag", "--rulegraph", "--filegraph", "--cleanup-metadata", "--list-changes", "--lc",
            "--delete-all-output", "--delete-temp-output", "--touch", "-t")


def executes_jobs(argv) -> bool:
    """False for Snakemake invocations that only look at the workflow: a dry run (-n, also in a cluster of
    short flags such as -pn), a report, --unlock, summaries... (``workflow.dryrun`` is not yet set while
    the Snakefile is parsed, so the command line decides)."""
    for a in argv[1:]:
        if a.split("=")[0] in _INSPECT or a in ("--dry-run", "--dryrun"):
            return False
        if a.startswith("-") and not a.startswith("--") and a[1:].isalpha() and "n" in a[1:]:
            return False
    return True


def workflow_plan(overrides, *, quiet=False):
    """(cfg, plan) for the workflow, or exit with one line naming the culprit. The plan checks
    (flops_fit.plancheck) run here: a refusal exits, each warning is one line (not when ``quiet``: a job's
    own parse of the Snakefile, which the main process has already said them for)."""
    from .config import ConfigError, load_config
    from .plan import plan
    from .plancheck import refusal, run
    from .plugins import PluginError
    try:
        cfg = load_config(overrides)
        p = plan(cfg)
        findings = run(cfg, p)
        if refusal(findings):
            raise ConfigError(refusal(findings))
        for f in findings if not quiet else ():
            say(f"warning: {f.line}")
    except (ConfigError, PluginError) as e:
        fail(str(e))
    except OSError as e:
        fail(f"{e.filename or 'a results file'}: {e.strerror or e}; check that the results folder is writable "
             "and the disk not full (config key results_dir)")
    return cfg, p


def stash_plan(p: dict, root=".snakemake/flops-fit") -> str:
    """Write the DAG's plan to ``root/plan-<hash>.json`` (once; atomic) and return the path."""
    from .config import stable_hash
    from .io import atomic_write_json
    path = Path(root) / f"plan-{stable_hash(p)}.json"
    if not path.is_file():
        try:
            atomic_write_json(path, p)
        except OSError as e:
            fail(f"{path}: {e.strerror or e}; the workflow folder must be writable (Snakemake keeps .snakemake/ there)")
    return str(path)


def check_results(specs: dict, sweep, *, dry_run: bool) -> list:
    """Set aside unusable metrics.json files of planned experiments (not in a dry run); return the notes."""
    from .runner import check_result, set_aside_unusable
    notes = []
    for exp_id, spec in specs.items():
        run_dir = Path(sweep) / "runs" / exp_id
        if not (run_dir / "metrics.json").exists():
            continue
        m, problem = check_result(run_dir, spec)
        if m is not None and m["status"] != "failed":
            continue
        if dry_run:
            why = f"status failed ({m.get('reason')})" if m is not None else problem
            note = f"{run_dir / 'metrics.json'}: {why}; a real run keeps it as metrics.json." \
                   f"{'failed' if m is not None else 'bad'} and trains {exp_id} again"
            say(note)
        else:
            try:
                note = set_aside_unusable(run_dir, spec, say=lambda s: print(s, file=sys.stderr, flush=True))
            except OSError as e:
                fail(f"{run_dir / 'metrics.json'} is unusable and cannot be set aside ({e.strerror}); "
                     "check the folder's permissions")
        notes.append(note)
    return notes


def check_tables(sweep, *, dry_run: bool) -> list:
    """runs.csv / fits.json that do not parse count as missing: set aside (.bad) so they are made again."""
    import json
    notes = []
    for name in ("runs.csv", "fits.json"):
        path = Path(sweep) / name
        if not path.is_file():
            continue
        problem = _table_problem(path) if name == "runs.csv" else None
        if name == "fits.json":
            try:
                if not isinstance(json.loads(path.read_bytes()), dict):
                    problem = "not a JSON object"
            except (ValueError, UnicodeDecodeError) as e:
                problem = f"not valid JSON ({e})"
        if problem is None:
            continue
        if dry_run:
            say(f"{path}: {problem}; a real run keeps it as {name}.bad and makes it again")
        else:
            from .io import set_aside
            set_aside(path, ".bad")
            say(f"{path}: {problem}; kept as {name}.bad, making it again")
        notes.append(str(path))
    return notes


def _table_problem(path) -> str | None:
    import pandas as pd
    from .results import REQUIRED
    try:
        df = pd.read_csv(path)
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as e:
        return f"does not parse as CSV ({' '.join(str(e).split())[:120]})"
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        return f"missing column(s) {', '.join(missing)}"
    return None


def check_data(data_dir) -> None:
    """A prepared-data meta.json that does not parse stops the workflow with one line (before any job)."""
    from .io import BadFile, read_json_or_explain
    meta = Path(data_dir) / "meta.json"
    if meta.is_file():
        try:
            if not isinstance(read_json_or_explain(meta, ""), dict):
                raise BadFile(f"{meta}: not a JSON object")
        except BadFile as e:
            fail(f"{str(e).rstrip('; ')}; delete {data_dir} and rerun (prepare_data rebuilds it)")


def _live_snakemakes_here(cwd: str) -> list:
    """PIDs of other snakemake processes on this host whose working folder is ``cwd``."""
    me = psutil.Process()
    mine = {me.pid} | {p.pid for p in me.parents()}  # a wrapper that runs snakemake does not count
    found = []
    for p in psutil.process_iter():
        if p.pid in mine:
            continue
        try:
            if not any("snakemake" in part for part in p.cmdline()[:3]):
                continue
            if os.path.realpath(p.cwd()) == os.path.realpath(cwd):
                found.append(p.pid)
        except psutil.Error:
            continue
    return found


def stale_lock(paths, *, argv=None, cwd=None) -> str | None:
    """The one-line message for a Snakemake lock on ``paths`` (prefixes) that no live process holds, else None."""
    cwd = cwd or os.getcwd()
    lockdir = Path(cwd) / ".snakemake" / "locks"
    if not lockdir.is_dir():
        return None
    # lock keys and prefixes alike as absolute paths: a results_dir given absolute or relative both match
    prefixes = [os.path.normpath(os.path.join(cwd, str(p))) for p in paths]
    hit = None
    for lock in sorted(lockdir.glob("*.lock")):
        try:
            keys = [k.strip() for k in lock.read_text().splitlines() if k.strip()]
        except OSError:
            continue
        for k in keys:
            key = os.path.normpath(os.path.join(cwd, k))
            if any(key == p or key.startswith(p.rstrip("/") + "/") for p in prefixes):
                hit = (lock, k if os.path.isabs(k) else os.path.relpath(key, cwd))
                break
        if hit:
            break
    if hit is None or not sys.platform.startswith("linux") or _live_snakemakes_here(cwd):
        return None  # no lock on our files, or a live snakemake here: its own lock message is right
    args = [a for a in (argv if argv is not None else sys.argv[1:]) if a not in ("-n", "--dry-run", "--dryrun")]
    return (f"a Snakemake lock from a run that was killed holds {hit[1]} ({hit[0]}), and no snakemake runs in "
            f"this folder on this host. If none runs on another host either, run: "
            f"snakemake --unlock {shlex.join(args)}  then the same command again")
