"""Atomic file writes: a crash or kill never leaves a half-written result (temp file + rename)."""
import json
import math
import os
import tempfile
from pathlib import Path

import numpy as np


def atomic_write_text(path, text: str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_json(path, obj) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=_jsonable) + "\n")


def _jsonable(x):
    # numpy scalars and arrays, Paths
    if hasattr(x, "tolist"):
        return x.tolist()
    if isinstance(x, Path):
        return str(x)
    raise TypeError(f"not JSON-serializable: {type(x).__name__}")


def json_clean(x):
    """JSON-safe copy: numpy -> python, NaN/inf -> None (JSON has no NaN; readers take null as NaN)."""
    if isinstance(x, dict):
        return {k: json_clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [json_clean(v) for v in x]
    if isinstance(x, np.ndarray):
        return json_clean(x.tolist())
    if isinstance(x, (np.bool_, bool)):
        return bool(x)
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(x) else None
    return x


def read_json(path):
    with open(path) as f:
        return json.load(f)


class BadFile(ValueError):
    """A damaged, foreign or unusable file: the message is one line naming it and the fix."""


def read_json_or_explain(path, fix: str):
    """read_json, but a missing or unparsable file raises BadFile naming it and ``fix``."""
    try:
        return read_json(path)
    except FileNotFoundError:
        raise BadFile(f"{path}: missing; {fix}") from None
    except UnicodeDecodeError:
        raise BadFile(f"{path}: not a text file; {fix}") from None
    except ValueError as e:
        raise BadFile(f"{path}: not valid JSON ({e}); {fix}") from None
    except OSError as e:
        raise BadFile(f"{path}: cannot read ({e.strerror or e}); {fix}") from None


def set_aside(path, suffix: str = ".bad") -> Path:
    """Rename ``path`` to ``path + suffix`` (replacing an older one): kept for a look, out of the way."""
    path = Path(path)
    dest = path.with_name(path.name + suffix)
    os.replace(path, dest)
    return dest
