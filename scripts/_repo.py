"""Make flops_fit and the built-in plugins importable from the repository folder, installed or not
(e.g. under `snakemake --use-conda`, whose environments do not install flops-fit itself)."""
import sys
from pathlib import Path

_root = str(Path(__file__).resolve().parent.parent)
if _root not in sys.path:
    sys.path.insert(1, _root)
