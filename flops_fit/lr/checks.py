"""Plan checks of the LR settings (flops_fit.plancheck): one line each, before anything trains."""
from flops_fit.config import ConfigError
from flops_fit.plancheck import REFUSE, WARN, Finding, register


def settings_findings(cfg: dict) -> list:
    s = cfg.get("lr_calibration")
    if not s:   # a partial config (a check called on its own) has no calibration settings to judge
        return []
    ms = s.get("multipliers") or []
    out = []
    bad = [m for m in ms if not m > 0]
    if bad:
        out.append(Finding(REFUSE, "lr_calibration.multipliers",
                           f"lr_calibration.multipliers: {bad[0]:g} is not positive; each multiplier scales the current "
                           "rule's LR (e.g. [0.25, 0.5, 1, 2, 4])"))
    if len(set(ms)) < 3:
        out.append(Finding(REFUSE, "lr_calibration.multipliers",
                           f"lr_calibration.multipliers: {len(set(ms))} distinct values; a parabola in log LR needs at "
                           "least 3 (e.g. [0.25, 0.5, 1, 2, 4])"))
    prior = s.get("prior")
    if prior is not None and not (isinstance(prior, dict) and prior.get("base", 0) > 0 and prior.get("ref_params", 0) > 0):
        out.append(Finding(REFUSE, "lr_calibration.prior", "lr_calibration.prior: a rule needs base > 0 and "
                           "ref_params > 0 (and exponent_n, exponent_d, ref_tokens), or null for training.lr"))
    return out


@register
def lr_settings(cfg, plan):
    """Bad calibration settings refuse every plan: the calibration and the sweep read the same config."""
    return settings_findings(cfg)


def refuse_settings(cfg: dict) -> None:
    """ff-calibrate's check: the first refusal as a ConfigError (one line)."""
    found = settings_findings(cfg)
    if found:
        raise ConfigError(found[0].line)


@register
def lr_calibrated(cfg, plan):
    """With training.lr=calibrated: what the calibration itself flagged (edge cells, a poor full-length check)."""
    if (cfg.get("training") or {}).get("lr") != "calibrated":
        return []
    from .rule import load_calibration
    cal = load_calibration(cfg)   # the plan was made from it, so it is there and has a rule
    out = []
    if cal.get("edge_cells"):
        out.append(Finding(WARN, "lr_calibration.extend",
                           f"training.lr=calibrated: the rule leaves out {len(cal['edge_cells'])} cells whose optimum "
                           "is at the edge of their multipliers; rerun `snakemake calibrate_lr` to extend them "
                           "(lr_calibration.extend)"))
    ratio = (cal.get("full_length_check") or {}).get("measured_over_rule")
    if ratio and not 0.5 <= ratio <= 2.0:
        out.append(Finding(WARN, "lr_calibration.step_fraction",
                           f"training.lr=calibrated: at full length the checked cell's optimum LR is {ratio:.2g}x the "
                           "rule's; the truncated runs extrapolate poorly to the sweep's lengths (a larger "
                           "lr_calibration.step_fraction costs more and extrapolates less)"))
    return out
