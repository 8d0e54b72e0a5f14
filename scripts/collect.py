"""Collect metrics.json files into runs.csv (rule collect): flops_fit/jobs/collect.py."""
import _repo  # noqa: F401  (puts the repo on sys.path: flops_fit and plugins import without an install)
from flops_fit.jobs.collect import main

main()
