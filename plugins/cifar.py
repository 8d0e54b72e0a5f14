"""CIFAR-10 readers for the image plugin (plugins/images.py): the official python format (a folder of pickled
batches or the .tar.gz) and HF datasets (``uoft-cs/cifar10`` or a local copy). Each loader returns
``(x_train, y_train, x_test, y_test, max_value, info)`` with x uint8 (N, 3, 32, 32) and y int64.
Offline, the hub source fails within seconds with a message naming the alternatives.
"""
from __future__ import annotations

import os
import pickle
import tarfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np

TRAIN_FILES = [f"data_batch_{i}" for i in range(1, 6)]
TEST_FILE = "test_batch"
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def _read_cifar_pickle(fileobj, name: str):
    d = pickle.load(fileobj, encoding="bytes")
    if not isinstance(d, dict) or b"data" not in d or (b"labels" not in d and b"fine_labels" not in d):
        raise ValueError(f"{name}: not a CIFAR-10 python batch (expected a dict with b'data' and b'labels')")
    data = np.asarray(d[b"data"], dtype=np.uint8)
    if data.ndim != 2 or data.shape[1] != 3072:
        raise ValueError(f"{name}: b'data' has shape {data.shape}, expected (N, 3072)")
    labels = np.asarray(d[b"labels"], dtype=np.int64)
    if len(labels) != len(data):
        raise ValueError(f"{name}: {len(data)} images but {len(labels)} labels")
    return data.reshape(-1, 3, 32, 32), labels


def load_dir(cfg: dict):
    raw = cfg.get("path")
    if not raw:
        raise ValueError("dataset source 'cifar_dir' needs dataset.path: the cifar-10-batches-py folder "
                         "(data_batch_1..5, test_batch) or the cifar-10-python.tar.gz archive")
    path = Path(os.path.expanduser(str(raw)))
    names = TRAIN_FILES + [TEST_FILE]
    parts = {}
    if path.is_file() and tarfile.is_tarfile(path):
        with tarfile.open(path) as tar:
            members = {Path(m.name).name: m for m in tar.getmembers() if m.isfile()}
            missing = [n for n in names if n not in members]
            if missing:
                raise FileNotFoundError(f"{path}: archive lacks CIFAR-10 batches {missing}")
            for n in names:
                parts[n] = _read_cifar_pickle(tar.extractfile(members[n]), f"{path}:{members[n].name}")
    else:
        folder = path
        if path.is_dir() and not (path / TEST_FILE).exists() and (path / "cifar-10-batches-py").is_dir():
            folder = path / "cifar-10-batches-py"
        if not folder.is_dir():
            raise FileNotFoundError(f"dataset.path={raw}: no such folder or tar archive "
                                    f"(expected cifar-10-batches-py/ or cifar-10-python.tar.gz)")
        missing = [n for n in names if not (folder / n).is_file()]
        if missing:
            raise FileNotFoundError(f"{folder}: missing CIFAR-10 batch files {missing} "
                                    f"(expected data_batch_1..5 and test_batch)")
        for n in names:
            with open(folder / n, "rb") as f:
                parts[n] = _read_cifar_pickle(f, str(folder / n))
    x_train = np.concatenate([parts[n][0] for n in TRAIN_FILES])
    y_train = np.concatenate([parts[n][1] for n in TRAIN_FILES])
    x_test, y_test = parts[TEST_FILE]
    info = {"source": "cifar_dir", "path": str(path), "class_names": CLASSES}
    return x_train, y_train, x_test, y_test, 255, info


def _offline_env() -> bool:
    return any(os.environ.get(k, "").strip().lower() in ("1", "true", "yes", "on")
               for k in ("HF_DATASETS_OFFLINE", "HF_HUB_OFFLINE"))


def _hub_reachable(name: str, timeout: float = 5.0) -> tuple[bool, str]:
    """One quick HTTP request to the hub (honours HTTP(S)_PROXY and HF_ENDPOINT)."""
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")
    url = f"{endpoint}/api/datasets/{name}"
    try:
        urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=timeout)
        return True, ""
    except urllib.error.HTTPError as e:  # the server answered: reachable (auth/404 is load_dataset's to report)
        return True, f"HTTP {e.code}"
    except Exception as e:  # DNS failure, refused, timeout, proxy error
        return False, f"{type(e).__name__}: {e}"


def _hf_load(name: str, revision=None):
    """Return a DatasetDict-like mapping with 'train' and 'test' splits (monkeypatched in tests)."""
    import datasets
    p = Path(os.path.expanduser(name))
    if p.exists():
        if (p / "dataset_dict.json").exists() or (p / "dataset_info.json").exists():
            return datasets.load_from_disk(str(p))
        return datasets.load_dataset(str(p))
    return datasets.load_dataset(name, revision=revision)


def hf_split_to_arrays(split, image_col: str = "img", label_col: str = "label", chunk: int = 2048):
    """Convert one HF split (``img``: PIL images or HWC arrays, ``label``: int) to uint8 (N, C, H, W), int64 (N,)."""
    cols = getattr(split, "column_names", None)
    if cols is not None and (image_col not in cols or label_col not in cols):
        raise ValueError(f"HF split has columns {cols}; expected {image_col!r} and {label_col!r} "
                         f"(set dataset.image_column / dataset.label_column)")
    n = len(split)
    xs, ys = [], []
    for lo in range(0, n, chunk):
        rows = split[lo:min(n, lo + chunk)]
        for im in rows[image_col]:
            a = np.asarray(im.convert("RGB") if hasattr(im, "convert") else im, dtype=np.uint8)
            if a.ndim == 2:
                a = a[:, :, None]
            xs.append(a.transpose(2, 0, 1))
        ys.extend(int(v) for v in rows[label_col])
    if not xs:
        raise ValueError("HF split is empty")
    return np.stack(xs), np.asarray(ys, dtype=np.int64)


def load_hf(cfg: dict):
    name = str(cfg.get("hf_name") or "uoft-cs/cifar10")
    revision = cfg.get("hf_revision")
    local = Path(os.path.expanduser(name)).exists()
    alternatives = ("Alternatives: download https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz elsewhere and "
                    "use dataset.source=cifar_dir dataset.path=<cifar-10-batches-py folder or the .tar.gz>; "
                    "or use the offline default dataset=digits.")
    if not local and not _offline_env():
        ok, why = _hub_reachable(name)
        if not ok:
            raise RuntimeError(f"dataset source 'cifar_hf' needs the Hugging Face hub, which is unreachable "
                               f"({why}). If '{name}' is already in your HF cache, set HF_DATASETS_OFFLINE=1. "
                               + alternatives)
    t0 = time.time()
    try:
        dd = _hf_load(name, revision)
    except Exception as e:
        hint = " (HF offline mode is on and the dataset is not in the local cache)" if _offline_env() else ""
        raise RuntimeError(f"dataset source 'cifar_hf': loading '{name}' failed{hint}: "
                           f"{type(e).__name__}: {e}. " + alternatives) from e
    for s in ("train", "test"):
        if s not in dd:
            raise ValueError(f"HF dataset '{name}' has splits {list(dd.keys())}; expected 'train' and 'test'")
    img_col, lab_col = cfg.get("image_column", "img"), cfg.get("label_column", "label")
    x_train, y_train = hf_split_to_arrays(dd["train"], img_col, lab_col)
    x_test, y_test = hf_split_to_arrays(dd["test"], img_col, lab_col)
    names = None
    try:
        names = list(dd["train"].features[lab_col].names)
    except Exception:
        pass
    info = {"source": "cifar_hf", "hf_name": name, "hf_revision": revision, "load_s": round(time.time() - t0, 2),
            "class_names": names or CLASSES}
    return x_train, y_train, x_test, y_test, 255, info
