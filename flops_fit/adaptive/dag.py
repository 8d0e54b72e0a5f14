"""What the Snakemake workflow asks of a steered sweep's round files (workflow/rules/adaptive.smk).

A steered sweep knows its experiments only as rounds are planned: each round file is the output of the
`plan_round` checkpoint. ``RoundSpecs`` looks an experiment's spec up in the round files written so far;
``round_ids`` lists a budget's experiment ids round by round, through the checkpoint (Snakemake raises its
IncompleteCheckpointException until a round is planned, and re-evaluates the DAG once it is).
"""
from pathlib import Path

from flops_fit.io import read_json


class RoundSpecs(dict):
    """Experiment specs of the round files under <sweep>/adaptive/: those written when it is made, then read
    again whenever an experiment is asked for that they did not hold (a round planned since)."""

    def __init__(self, sweep):
        super().__init__()
        self.sweep = Path(sweep)
        self._read()

    def _read(self):
        for path in sorted(self.sweep.glob("adaptive/*/round*.json")):
            for e in read_json(path)["experiments"]:
                self.setdefault(e["id"], e)

    def __missing__(self, exp):
        self._read()
        if exp not in self:  # (dict.__getitem__ would call __missing__ again)
            raise KeyError(f"experiment {exp} is in no round file under {self.sweep / 'adaptive'}")
        return dict.__getitem__(self, exp)


def round_ids(checkpoint, bud: str, upto=None) -> list:
    """Experiment ids of budget `bud`'s rounds < upto (all of them, through its last round, when None).
    checkpoint: the workflow's ``checkpoints.plan_round``."""
    ids, r = [], 0
    while upto is None or r < upto:
        rd = read_json(checkpoint.get(bud=bud, r=str(r)).output.plan)
        ids += [e["id"] for e in rd["experiments"]]
        if rd["done"]:
            break
        r += 1
    return ids
