"""Read MNIST-style IDX files (MNIST, Fashion-MNIST, KMNIST: the format their authors publish).

A folder with train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz] and
t10k-labels-idx1-ubyte[.gz]. On Debian/Ubuntu, `apt install dataset-fashion-mnist` puts Fashion-MNIST in
/usr/share/datasets/fashion-mnist (no network needed where the package cache has it).
Used by plugins/images.py as ``dataset.source=idx_dir``.
"""
import gzip
import os
from pathlib import Path

import numpy as np

FILES = {"train_x": "train-images-idx3-ubyte", "train_y": "train-labels-idx1-ubyte",
         "test_x": "t10k-images-idx3-ubyte", "test_y": "t10k-labels-idx1-ubyte"}


def read_idx(path: Path) -> np.ndarray:
    """One IDX file: magic (0, 0, dtype=0x08 ubyte, ndim), big-endian int32 dims, then the data."""
    with (gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")) as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file (bad magic {raw[:4]!r})")
    ndim = raw[3]
    dims = np.frombuffer(raw, dtype=">i4", count=ndim, offset=4).astype(int)
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise ValueError(f"{path}: header says {tuple(dims)} but holds {data.size} values (truncated?)")
    return data.reshape(dims)


def _find(folder: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx")):  # some mirrors use train-images.idx3-ubyte
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(f"{folder}: missing {stem}[.gz] (an MNIST-format folder has {', '.join(FILES.values())})")


def load_idx_dir(cfg: dict):
    """(x_train, y_train, x_test, y_test, max_value, info) with x uint8 (N, 1, H, W), as the image plugin wants."""
    raw = cfg.get("path")
    if not raw:
        raise ValueError("dataset source 'idx_dir' needs dataset.path: a folder of MNIST-format IDX files "
                         "(e.g. /usr/share/datasets/fashion-mnist from `apt install dataset-fashion-mnist`)")
    folder = Path(os.path.expanduser(str(raw)))
    if not folder.is_dir():
        raise FileNotFoundError(f"dataset.path={raw}: no such folder (for Fashion-MNIST on Debian/Ubuntu: "
                                f"apt install dataset-fashion-mnist)")
    arr = {k: read_idx(_find(folder, stem)) for k, stem in FILES.items()}
    for split in ("train", "test"):
        if len(arr[f"{split}_x"]) != len(arr[f"{split}_y"]):
            raise ValueError(f"{folder}: {split} images and labels differ in count")
    info = {"source": "idx_dir", "path": str(folder), "class_names": cfg.get("class_names")}
    return (arr["train_x"][:, None], arr["train_y"].astype(np.int64), arr["test_x"][:, None],
            arr["test_y"].astype(np.int64), 255, info)
