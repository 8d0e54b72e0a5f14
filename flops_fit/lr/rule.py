"""The per-run peak learning rate: a rule in model size N and data units D, given or calibrated.

    lr(N, D) = base * (ref_params / N) ** exponent_n * (D / ref_tokens) ** exponent_d

exponent_n > 0: larger models get lower rates (the classic rule). exponent_d has either sign: > 0 for Step Law
(Li et al. 2025, which also grows the batch with D), < 0 where longer runs at a fixed batch want lower rates
(Bjorck et al. 2024). flops-fit keeps the batch fixed, so the sign is measured (``ff-calibrate``), never assumed.

``training.lr`` is such a rule (``exponent`` is the older name of ``exponent_n``; ``exponent_d`` defaults to 0,
the rule in N alone), or the string ``calibrated``: the rule ``<results_dir>/<sweep>/lr_calibration.json`` holds.

Experiment ids: a rule in N alone keeps the id it always had (the rule's three constants); any other run is
identified by its LR number, rounded to ``SIGNIFICANT`` digits, so a changed calibration renames only the runs
whose rate changed.

Seeds: a run's seed (its initialization and data order) derives from its id, except under ``training.lr=calibrated``:
there it derives from the id the run has under the prior rule (``seed_identity_lr``), so a calibrated run and the
same run of the uncalibrated sweep start from the same weights and see the same batches, and their loss
difference is the learning rate's alone. Such a run's id records this (``seed_from``).
"""
from functools import lru_cache
from pathlib import Path

from flops_fit.config import ConfigError

CALIBRATED = "calibrated"
CALIBRATION_FILE = "lr_calibration.json"
SIGNIFICANT = 3   # a calibrated or D-dependent rate is trained and identified at 3 significant digits
RULE_KEYS = ("base", "ref_params", "ref_tokens", "exponent_n", "exponent_d")


class NoCalibration(ConfigError):
    """training.lr=calibrated but the sweep has no usable lr_calibration.json (one line, naming what to run)."""


def normalize(rule: dict) -> dict:
    """The five constants of a rule written in either form (``exponent`` is the older ``exponent_n``)."""
    en = rule.get("exponent_n", rule.get("exponent", 0.0))
    return {"base": rule["base"], "ref_params": rule["ref_params"], "ref_tokens": rule.get("ref_tokens", 1.0),
            "exponent_n": en, "exponent_d": rule.get("exponent_d", 0.0)}


def rule_lr(rule: dict, params: float, tokens: float) -> float:
    """The rule's rate at (N, D), unrounded. With exponent_d = 0 it is bit-for-bit the older N-only rule."""
    r = normalize(rule)
    lr = r["base"] * (r["ref_params"] / params) ** r["exponent_n"]
    if r["exponent_d"]:
        lr = lr * (tokens / r["ref_tokens"]) ** r["exponent_d"]
    return float(lr)


def round_lr(lr: float) -> float:
    return float(f"{lr:.{SIGNIFICANT - 1}e}")


def is_n_only(lr_cfg) -> bool:
    return isinstance(lr_cfg, dict) and not normalize(lr_cfg)["exponent_d"]


def peak_lr(lr_cfg, params: float, tokens: float, *, calibration: dict | None = None) -> tuple:
    """(peak lr, source) of one run of N params and D data units. source: "rule" or "calibrated".

    lr_cfg: training.lr (a rule dict, or "calibrated" with ``calibration`` the loaded lr_calibration.json)."""
    if lr_cfg == CALIBRATED:
        if calibration is None:
            raise NoCalibration("training.lr=calibrated: no calibration was given")
        return round_lr(rule_lr(calibrated_rule(calibration), params, tokens)), CALIBRATED
    lr = rule_lr(lr_cfg, params, tokens)
    return (lr if is_n_only(lr_cfg) else round_lr(lr)), "rule"


def identity_lr(lr_cfg, lr: float):
    """What stands for the rate in an experiment's id: a rule in N alone as its constants (the ids it always had),
    anything else as the run's own (rounded) number."""
    if is_n_only(lr_cfg):
        if "exponent" in lr_cfg:
            return lr_cfg
        return {"base": lr_cfg["base"], "ref_params": lr_cfg["ref_params"], "exponent": lr_cfg["exponent_n"]}
    return lr


def seed_identity_lr(cfg: dict, params: float, tokens: float):
    """What stands for the rate in the identity a run's seed derives from: ``None`` (its own id) unless
    training.lr=calibrated, then the rate as the prior rule (the one the calibration scaled) identifies it."""
    if cfg["training"]["lr"] != CALIBRATED:
        return None
    from .grid import prior_rule
    prior = prior_rule(cfg)
    return identity_lr(prior, peak_lr(prior, params, tokens)[0])


def calibrated_rule(calibration: dict) -> dict:
    rule = calibration.get("rule") if isinstance(calibration, dict) else None
    if not rule or any(rule.get(k) is None for k in RULE_KEYS):
        why = calibration.get("reason") if isinstance(calibration, dict) else None
        raise NoCalibration(f"the LR calibration has no fitted rule ({why or 'status ' + str(calibration.get('status'))})"
                            "; see its cells, widen lr_calibration.multipliers or set training.lr to a rule")
    return rule


def calibration_path(cfg: dict) -> Path:
    return Path(cfg["results_dir"]) / cfg["sweep"] / CALIBRATION_FILE


def load_calibration(cfg: dict) -> dict:
    """The sweep's lr_calibration.json, or NoCalibration naming the command that makes it."""
    path = calibration_path(cfg)
    try:
        st = path.stat()
    except OSError:
        raise NoCalibration(f"training.lr=calibrated: no {path}; run `snakemake --cores 2 calibrate_lr --config <the "
                            "same config>` (or `ff-calibrate <same overrides>`) first, or set training.lr to a rule") from None
    cal = _read(str(path), st.st_mtime_ns, st.st_size)
    try:
        calibrated_rule(cal)
    except NoCalibration as e:
        raise NoCalibration(f"{path}: {e}") from None
    return cal


@lru_cache(maxsize=8)
def _read(path: str, mtime_ns: int, size: int) -> dict:
    from flops_fit.io import BadFile, read_json_or_explain
    try:
        cal = read_json_or_explain(path, "delete it and rerun the calibration (`snakemake calibrate_lr`)")
    except BadFile as e:
        raise NoCalibration(str(e)) from None
    if not isinstance(cal, dict):
        raise NoCalibration(f"{path}: not a JSON object; delete it and rerun `snakemake calibrate_lr`")
    return cal


def run_lr(cfg: dict, params: float, tokens: float) -> tuple:
    """(peak lr, source) of one run of the sweep configured by cfg (what the planner calls)."""
    lr_cfg = cfg["training"]["lr"]
    cal = load_calibration(cfg) if lr_cfg == CALIBRATED else None
    return peak_lr(lr_cfg, params, tokens, calibration=cal)
