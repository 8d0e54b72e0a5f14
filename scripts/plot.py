"""Draw the figures (rule plot): flops_fit/jobs/plot.py."""
import _repo  # noqa: F401  (puts the repo on sys.path: flops_fit and plugins import without an install)
from flops_fit.jobs.plot import main

main()
