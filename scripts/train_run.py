"""Train one experiment (rule train_run): flops_fit/jobs/train_run.py (python -m flops_fit.jobs.train_run)."""
import _repo  # noqa: F401  (puts the repo on sys.path: flops_fit and plugins import without an install)
from flops_fit.jobs.train_run import main

main()
