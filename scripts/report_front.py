"""The report's front page (rule report_front): python scripts/report_front.py --dir results/<sweep> --out FILE.rst"""
import _repo  # noqa: F401  (puts the repo on sys.path: flops_fit and plugins import without an install)
import sys

from flops_fit.report.front import main

main(sys.argv[1:])
