"""flops-fit is a self-contained package: a non-editable wheel installed in a fresh venv outside the repository
plans a sweep (config tree and schema ship inside flops_fit/). Offline: the venv borrows this environment's
installed dependencies through a .pth file, and the wheel is installed without them (--no-deps)."""
import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "README.md", "flops_fit", "plugins", "config", "workflow/schemas")


@pytest.mark.slow
def test_a_wheel_installed_outside_the_repo_plans_the_mock_sweep(tmp_path):
    src = tmp_path / "src"
    for s in SOURCES:   # a clean copy: building writes build/ and *.egg-info next to the sources
        (src / s).parent.mkdir(parents=True, exist_ok=True)
        copy = shutil.copytree if (ROOT / s).is_dir() else shutil.copy2
        kw = {"symlinks": True, "ignore": shutil.ignore_patterns("__pycache__")} if (ROOT / s).is_dir() else {}
        copy(ROOT / s, src / s, **kw)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "FLOPS_FIT_CONFIG_DIR")}
    run = dict(check=True, capture_output=True, text=True, env=env)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp_path / "dist"), str(src)], **run)
    wheel = next((tmp_path / "dist").glob("flops_fit-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], **run)
    py = venv / "bin" / "python"
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          **run).stdout.strip()
    # the dependencies of this environment, after the venv's own packages (not its editable flops_fit: a path
    # added by a .pth file is not itself scanned for .pth files)
    Path(site, "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "--no-index", "--no-compile", "-q",
                    str(wheel)], **run)
    work = tmp_path / "elsewhere"
    work.mkdir()
    where = subprocess.run([str(py), "-c", "import flops_fit; print(flops_fit.__file__)"], cwd=work, **run)
    assert where.stdout.strip().startswith(site)
    out = subprocess.run([str(venv / "bin" / "ff-plan"), "preset=mock"], cwd=work, **run)
    assert "wrote results/gpt-pysource-mock/plan.json" in out.stdout, out.stdout[-2000:] + out.stderr[-2000:]
    assert len(json.loads((work / "results/gpt-pysource-mock/plan.json").read_text())["experiments"]) == 35
    jobs = subprocess.run([str(py), "-m", "flops_fit.jobs.fit", "--help"], cwd=work, **run)   # what the forecast runs
    assert "--runs" in jobs.stdout
