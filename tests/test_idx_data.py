"""MNIST-format (IDX) folders through the image plugin: Fashion-MNIST's files, made small by the test."""
import gzip
import struct

import numpy as np
import pytest

from plugins import images
from plugins.idx import read_idx

CFG = {"name": "fashion_mnist", "plugin": "plugins.images", "source": "idx_dir", "image_size": 28,
       "patch_size": 7, "channels": 1, "num_classes": 10}


def _write_idx(path, arr, gz=True):
    header = struct.pack(">BBBB", 0, 0, 0x08, arr.ndim) + struct.pack(f">{arr.ndim}i", *arr.shape)
    with (gzip.open(path, "wb") if gz else open(path, "wb")) as f:
        f.write(header + arr.astype(np.uint8).tobytes())


@pytest.fixture
def idx_folder(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {"train-images-idx3-ubyte": rng.integers(0, 256, (30, 28, 28)), "train-labels-idx1-ubyte":
              np.arange(30) % 10, "t10k-images-idx3-ubyte": rng.integers(0, 256, (10, 28, 28)),
              "t10k-labels-idx1-ubyte": np.arange(10)}
    for name, arr in arrays.items():
        _write_idx(tmp_path / (name + ".gz"), arr)
    return tmp_path, arrays


class TestIdx:
    def test_read_idx_roundtrips(self, tmp_path):
        a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
        _write_idx(tmp_path / "x", a, gz=False)
        assert np.array_equal(read_idx(tmp_path / "x"), a)

    def test_truncated_file_is_named(self, tmp_path):
        _write_idx(tmp_path / "x", np.zeros((2, 3), np.uint8), gz=False)
        (tmp_path / "x").write_bytes((tmp_path / "x").read_bytes()[:-1])
        with pytest.raises(ValueError, match="truncated"):
            read_idx(tmp_path / "x")

    def test_prepare_and_load(self, idx_folder, tmp_path):
        folder, arrays = idx_folder
        cfg = {**CFG, "path": str(folder)}
        meta = images.prepare(cfg, str(tmp_path / "out"))
        assert meta["counts"] == {"train": 30, "test": 10} and meta["image_shape"] == [1, 28, 28]
        assert np.array_equal(np.load(tmp_path / "out" / "test_x.npy")[:, 0], arrays["t10k-images-idx3-ubyte"])
        b = next(images.loader("train", cfg=cfg, meta=meta, data_dir=str(tmp_path / "out"), batch_size=8, seed=0))
        assert b["images"].shape == (8, 1, 28, 28) and b["targets"].shape == (8,)

    def test_missing_folder_says_how_to_get_fashion_mnist(self, tmp_path):
        with pytest.raises(FileNotFoundError, match="dataset-fashion-mnist"):
            images.prepare({**CFG, "path": str(tmp_path / "nope")}, str(tmp_path / "o"))
