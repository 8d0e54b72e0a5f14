"""Fit the scaling laws (rule fit): flops_fit/jobs/fit.py."""
import _repo  # noqa: F401  (puts the repo on sys.path: flops_fit and plugins import without an install)
from flops_fit.jobs.fit import main

main()
