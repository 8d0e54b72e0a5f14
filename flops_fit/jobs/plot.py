"""Draw the figures (rule plot): python -m flops_fit.jobs.plot --dir results/<sweep> --out results/<sweep>/plots
[--summary] [--table chinchilla_table.csv]: also the report's fit summary page and a copy of the table."""
import argparse
import shutil
from pathlib import Path

from flops_fit.cli import script
from flops_fit.stages import visualize


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--summary", action="store_true", help="write <out>/fit_summary.html for the report")
    ap.add_argument("--table", help="copy this Chinchilla table CSV into <out> for the report")
    args = ap.parse_args(argv)

    def go():
        for f in visualize(args.dir, args.out):
            print(f"wrote {f}")
        if args.summary:
            from flops_fit.plot.summary import write_summary
            print(f"wrote {write_summary(args.dir, Path(args.out) / 'fit_summary.html')}")
        if args.table:
            shutil.copy(args.table, Path(args.out) / "chinchilla_table.csv")

    script(go)


if __name__ == "__main__":
    main()
