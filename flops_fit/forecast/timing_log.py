"""Hook the ETA into Snakemake's own progress output: a logging filter on the "snakemake.logging" logger that
appends Eta.line() to each "Finished jobid: N (Rule: train_run)" record. It never raises and never drops a
record, so a problem here cannot break a sweep (the line is then just missing)."""
import logging

RULE = "train_run"


class EtaFilter(logging.Filter):
    def __init__(self, eta, rule=RULE):
        super().__init__()
        self.eta, self.tag = eta, f"(Rule: {rule})"

    def filter(self, record):
        try:
            if self.tag in str(record.msg) and str(record.msg).startswith("Finished jobid"):
                line = self.eta.line()
                if line and line not in str(record.msg):
                    record.msg = f"{record.msg}\n{line}"
        except Exception:  # noqa: BLE001 (progress output must never stop the workflow)
            pass
        return True


def add_eta_to_log(eta, logger_name="snakemake.logging") -> EtaFilter:
    logger = logging.getLogger(logger_name)
    for f in [f for f in logger.filters if isinstance(f, EtaFilter)]:
        logger.removeFilter(f)
    flt = EtaFilter(eta)
    logger.addFilter(flt)
    return flt
