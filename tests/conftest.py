import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session", autouse=True)
def _measure_once_per_session(tmp_path_factory):
    """One folder of plugin probe verdicts and size tables for the whole session, shared by the xdist workers and
    set before any fixture runs (flops_fit.plugins.measurement_cache): a cold plan measures its models for ~12 s,
    a warm one reads them. Its keys hash the plugins' source, so a test's own plugin never gets another's numbers."""
    base = tmp_path_factory.getbasetemp()
    folder = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "measure-cache"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FLOPS_FIT_MEASURE_CACHE", str(folder))
        yield folder


@pytest.fixture(autouse=True)
def _own_slots_and_peaks(tmp_path_factory, monkeypatch):
    """Tests never take this machine's device slots nor write its peak cache (flops_fit.slots, flops_fit.peak);
    the CPU peak is measured once per test session (~50 ms)."""
    base = tmp_path_factory.getbasetemp()
    monkeypatch.setenv("FLOPS_FIT_SLOT_DIR", str(base / "slots"))
    monkeypatch.setenv("FLOPS_FIT_PEAK_CACHE", str(base / "peaks.json"))


@pytest.fixture
def own_measure_cache(monkeypatch):
    """For the tests of the cache itself: probes and sizes kept in <results_dir>/.cache, as without the suite."""
    monkeypatch.delenv("FLOPS_FIT_MEASURE_CACHE")


@pytest.fixture
def plugin_dir(tmp_path, monkeypatch):
    """A folder on sys.path where a test writes its own plugin modules (outside the repo)."""
    from flops_fit.plugins import _load_cached
    d = tmp_path / "userplugins"
    d.mkdir()
    monkeypatch.syspath_prepend(str(d))
    _load_cached.cache_clear()
    yield d
    _load_cached.cache_clear()
    for name in [m for m in sys.modules if m.startswith("ff_test_")]:
        del sys.modules[name]


@pytest.fixture
def workflow_copy(tmp_path):
    """A copy of the workflow (Snakefile, workflow/, scripts/, config/, profiles/, envs/) in a temporary folder."""
    dst = tmp_path / "wf"
    dst.mkdir()
    for name in ("Snakefile", "workflow", "scripts", "config", "profiles", "envs"):
        src = REPO / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, dst / name)
    return dst


def snakemake(cwd, *args, timeout=600):
    """Run snakemake in cwd; return the completed process (stdout+stderr in .stdout)."""
    return subprocess.run([sys.executable, "-m", "snakemake", *args], cwd=cwd, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)


def run_mock_sweep(root, *overrides):
    """Plan, simulate, collect and fit a mock sweep in-process with the pipeline's own stages."""
    from flops_fit.config import load_config
    from flops_fit.plan import plan, sweep_dir
    from flops_fit.results import write_runs_csv
    from flops_fit.runner import run_experiment
    from flops_fit.stages import analyze
    cfg = load_config(["mode=mock", f"results_dir={root}", *overrides])
    p = plan(cfg)
    sdir = sweep_dir(cfg)
    paths = []
    for spec in p["experiments"]:
        run_experiment(spec, sdir / "runs" / spec["id"])
        paths.append(sdir / "runs" / spec["id"] / "metrics.json")
    write_runs_csv(paths, sdir / "runs.csv")
    analyze(sdir / "runs.csv", sdir, cfg["analysis"], quiet=True, sweep_targets=cfg["budgets"]["targets"])
    return cfg, p, sdir


def pytest_collection_modifyitems(config, items):
    """Longest first for the xdist workers: the grouped tests (one worker runs a group's tests one after another:
    the real Slurm, the rendezvous port), then the slow end-to-end tests, then the rest (stable within each)."""
    def rank(item):
        if item.get_closest_marker("xdist_group"):
            return 0
        return 1 if item.get_closest_marker("slow") else 2
    items.sort(key=rank)


def pytest_configure(config):
    """--dist loadgroup keeps a group's tests on one worker (two workers must never start the same Slurm or bind
    the same port). pytest 9.2 made node ids structured, and pytest-xdist <= 3.8 still writes the old field, so
    groups are split silently (pytest-dev/pytest-xdist#1386). Stop with one line instead of failing elsewhere."""
    if hasattr(config, "workerinput") or config.getoption("dist", "no") != "loadgroup":
        return
    import xdist
    from packaging.version import Version
    if Version(pytest.__version__) >= Version("9.2") and Version(xdist.__version__) < Version("3.9"):
        raise pytest.UsageError(f"pytest {pytest.__version__} with pytest-xdist {xdist.__version__} splits "
                                "--dist loadgroup groups across workers (pytest-dev/pytest-xdist#1386): "
                                "pip install 'pytest<9.2' (as .[test] pins), or run serially with -n 0")


def pytest_sessionfinish(session):
    """FLOPS_FIT_MODULES_SEEN=<file>: append the flops_fit modules this test process imported (one per line;
    each xdist worker adds its own), to check that a tier of the suite reaches every module. Subprocesses that
    the tests start (snakemake, the jobs) are not counted."""
    out = os.environ.get("FLOPS_FIT_MODULES_SEEN")
    if out:
        with open(out, "a") as f:
            f.write("".join(f"{m}\n" for m in sorted(sys.modules) if m.split(".")[0] == "flops_fit"))
