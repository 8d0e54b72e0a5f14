"""Compose the config tree (config/) with Hydra's compose API, apply overrides, validate against the schema.

One entry point, ``load_config(overrides)``, used by the ff-* commands and by the Snakemake workflow.
Every problem is raised as ``ConfigError`` with one line naming the key and what to do.
"""
import hashlib
import json
import math
import os
import re
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
# Shipped inside the package (flops_fit/resources: in a checkout, links to config/ and workflow/schemas/; in a wheel,
# copies), so an installed flops-fit composes and validates its config outside the repository.
RESOURCES = Path(str(files("flops_fit").joinpath("resources")))
SCHEMA_PATH = RESOURCES / "config.schema.yaml"


def job_env() -> dict:
    """os.environ with the folder that holds flops_fit (and the built-in plugins) first on PYTHONPATH: a job started
    as `python -m flops_fit.jobs.<name>` runs this flops-fit, installed or not."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT)] + [p for p in [env.get("PYTHONPATH")] if p])
    return env


class ConfigError(ValueError):
    """A bad config value, key, group option or override (message: one line)."""


def config_dir() -> Path:
    """The config tree: $FLOPS_FIT_CONFIG_DIR, else ./config if it has config.yaml, else the one flops-fit ships."""
    env = os.environ.get("FLOPS_FIT_CONFIG_DIR")
    if env:
        return Path(env).resolve()
    local = Path.cwd() / "config"
    if (local / "config.yaml").is_file():
        return local.resolve()
    return RESOURCES / "config"


def load_config(overrides=(), *, validate: bool = True) -> dict:
    """Compose config.yaml + groups + ``key=value`` overrides into a plain, resolved, validated dict.

    The result carries ``_choices`` (selected group options, e.g. {"model": "gpt", "preset": "quick"}).
    """
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf import OmegaConf, open_dict
    from omegaconf.errors import OmegaConfBaseException

    overrides = [str(o) for o in overrides]
    for o in overrides:
        if "=" not in o and not o.startswith("~"):
            raise ConfigError(f"override {o!r} is not key=value (e.g. model=gpt, budgets.values=[1e12,1e13])")
    cdir = config_dir()
    if not (cdir / "config.yaml").is_file():
        raise ConfigError(f"no config.yaml in {cdir}: run from the flops-fit repo or set FLOPS_FIT_CONFIG_DIR")
    try:
        with initialize_config_dir(config_dir=str(cdir), version_base=None):
            cfg = compose("config", overrides=overrides, return_hydra_config=True)
        choices = {k: v for k, v in OmegaConf.to_container(cfg.hydra.runtime.choices).items()
                   if not k.startswith("hydra") and "/" not in k}
        with open_dict(cfg):
            del cfg["hydra"]
            _fill_data_facts(cfg)
        out = OmegaConf.to_container(cfg, resolve=True)
    except (HydraException, OmegaConfBaseException) as e:
        raise ConfigError(_hydra_message(e, cdir)) from None
    except yaml.YAMLError as e:
        raise ConfigError(_yaml_message(e)) from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"config: cannot read a file of {cdir} ({e}); check its permissions and encoding") from None
    out = coerce_numbers(out)
    out["_choices"] = choices
    older_lr_name((out.get("training") or {}).get("lr"))
    if validate:
        validate_config(out)
    if out.get("sweep") is None:
        out["sweep"] = default_sweep_name(out)
    return out


def older_lr_name(lr) -> None:
    """An LR rule's `exponent`, the older name of exponent_n, renamed in place: the defaults carry only exponent_n,
    so an `exponent` in a composed rule is the user's (a preset, a plugin package's config, an override) and wins."""
    if isinstance(lr, dict) and "exponent" in lr:
        lr["exponent_n"] = lr.pop("exponent")


def _fill_data_facts(cfg) -> None:
    """A text dataset's vocabulary can live in its files (a token file's meta.json, a tokenizer.json): its data
    plugin's optional ``config_facts(cfg) -> {key: value}`` fills them in before interpolation, so the model's
    ``${dataset.vocab_size}`` and the plan see the real value. Only datasets with a ``vocab_size`` key ask."""
    from omegaconf import OmegaConf
    ds = cfg.get("dataset")
    if ds is None or "vocab_size" not in ds or not ds.get("plugin"):
        return
    from .plugins import PluginError, load_data_plugin
    try:
        facts_fn = getattr(load_data_plugin(str(ds.plugin)), "config_facts", None)
    except PluginError as e:
        raise ConfigError(str(e)) from None
    if facts_fn is None:
        return
    try:
        facts = facts_fn(OmegaConf.to_container(ds, resolve=True))
    except (OSError, ValueError, KeyError) as e:
        raise ConfigError(f"dataset {ds.get('name')!r}: {e}") from None
    for k, v in (facts or {}).items():
        ds[k] = v


def _hydra_message(e, cdir) -> str:
    msg = str(e).strip()
    m = re.search(r"Could not find '([^/']+)/([^']+)'", msg)
    if m:
        group, opt = m.groups()
        # Hydra lists the options it found on its whole search path (also a user's hydra.searchpath)
        listed = re.search(r"Available options in '[^']+':\n((?:\t.*\n?)+)", msg)
        avail = (sorted(x.strip() for x in listed.group(1).splitlines() if x.strip()) if listed
                 else sorted(p.stem for p in (cdir / group).glob("*.yaml")))
        return f"config: unknown option {opt!r} for group {group!r} (available: {', '.join(avail) or 'none'})"
    m = re.search(r"Could not override '([^']+)'", msg)
    if m:
        return (f"config: unknown key {m.group(1)!r} (not in the config; check spelling, "
                f"or use +{m.group(1)}=... to add a new key to a free-form section like model.kwargs)")
    m = re.search(r"Key '([^']+)' is not in struct", msg)
    if m:
        return f"config: unknown key {m.group(1)!r} (check spelling against config/)"
    first = " ".join(line.strip() for line in msg.splitlines() if line.strip())
    return f"config: {first}"


def _yaml_message(e) -> str:
    """One line for a malformed YAML file: which file, which line, what the parser expected."""
    mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
    where = f"{mark.name}, line {mark.line + 1}, column {mark.column + 1}" if mark else "a config file"
    problem = " ".join(str(getattr(e, "problem", None) or e).split())
    return f"config file {where}: malformed YAML ({problem}); fix the syntax there"


def _first_non_finite(x, key=""):
    """The dotted key of the first NaN or infinite number in a config, else None."""
    if isinstance(x, dict):
        for k, v in x.items():
            found = _first_non_finite(v, f"{key}.{k}" if key else str(k))
            if found:
                return found
    elif isinstance(x, list):
        for i, v in enumerate(x):
            found = _first_non_finite(v, f"{key}[{i}]")
            if found:
                return found
    elif isinstance(x, float) and not math.isfinite(x):
        return key, x
    return None


def coerce_numbers(x):
    """YAML 1.1 reads 1e12 (no dot) as a string; budgets and other numbers written that way become floats."""
    if isinstance(x, dict):
        return {k: coerce_numbers(v) for k, v in x.items()}
    if isinstance(x, list):
        return [coerce_numbers(v) for v in x]
    if isinstance(x, str) and re.fullmatch(r"[+-]?\d+(\.\d*)?[eE][+-]?\d+", x):
        return float(x)
    return x


@lru_cache(maxsize=1)
def _schema() -> dict:
    with open(SCHEMA_PATH) as f:
        return yaml.safe_load(f)


def validate_config(cfg: dict) -> None:
    """Raise ConfigError naming the first offending key (JSON Schema in workflow/schemas/)."""
    import jsonschema

    body = {k: v for k, v in cfg.items() if not k.startswith("_")}
    bad = _first_non_finite(body)
    if bad:
        raise ConfigError(f"config key {bad[0]!r}: {bad[1]} is not a finite number; give a finite value")
    validator = jsonschema.Draft202012Validator(_schema())
    err = jsonschema.exceptions.best_match(validator.iter_errors(body))
    if err is not None:
        key = ".".join(str(p) for p in err.absolute_path) or "<top level>"
        if err.validator == "additionalProperties":
            extra = re.findall(r"'([^']+)' was unexpected", err.message)
            where = f"{key}." if key != "<top level>" else ""
            raise ConfigError(f"config: unknown key {where}{extra[0] if extra else ''} "
                              f"(check spelling against config/ and workflow/schemas/config.schema.yaml)")
        raise ConfigError(f"config key {key!r}: {err.message}")
    try:
        from .trackers import check as check_trackers
        check_trackers(cfg.get("training", {}).get("log_with"))
    except ValueError as e:
        raise ConfigError(str(e)) from None
    size = cfg["model"]["size"]
    if size["min"] > size["max"]:
        raise ConfigError(f"config key 'model.size': min={size['min']} is larger than max={size['max']}")


def default_sweep_name(cfg: dict) -> str:
    parts = [cfg["model"]["name"], cfg["dataset"]["name"]]
    preset = cfg.get("_choices", {}).get("preset")
    if preset:
        parts.append(str(preset))
    if cfg["mode"] == "mock" and "mock" not in parts:
        parts.append("mock")
    return "-".join(parts)


def stable_hash(obj, n: int = 8) -> str:
    """Short content hash of a JSON-able object (key order does not matter)."""
    blob = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:n]


VERBATIM = ("analysis.query=", "analysis.holdout=")   # values that are pandas expressions, not Hydra values


def quote_verbatim(overrides):
    """Pass analysis.query=<expression> to Hydra as one quoted string: `analysis.query=config == 'x'` works as typed
    (Hydra's grammar would reject the spaces, '=' and quotes inside)."""
    out = []
    for o in overrides:
        key = next((k for k in VERBATIM if o.startswith(k)), None)
        if key is not None:
            v = o[len(key):]
            if not (len(v) >= 2 and v[0] == v[-1] and v[0] in "'\""):
                v = "'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'"
            o = key + v
        out.append(o)
    return out


def snakemake_overrides(config: dict) -> list:
    """Turn Snakemake ``--config`` entries into Hydra overrides.

    ``model=gpt`` stays as is; ``training__batch_size=8`` becomes ``training.batch_size=8`` (Snakemake keys
    cannot contain dots); ``overrides="a.b=1 c=2"`` passes several Hydra overrides verbatim.
    """
    out = []
    for key, value in config.items():
        if key == "overrides":
            out.extend(str(value).split())
            continue
        out.append(f"{key.replace('__', '.')}={_override_value(value)}")
    return quote_verbatim(out)


def _override_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "null"
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(_override_value(x) for x in v) + "]"
    return str(v)
