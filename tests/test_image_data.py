"""Image data plugin: digits (offline default), CIFAR-10 python format, HF datasets path, offline failure."""
import itertools
import pickle
import tarfile
import time

import numpy as np
import pytest
import torch

from plugins import cifar, images

DIGITS = dict(name="digits", plugin="plugins.images", source="digits", image_size=8, patch_size=2,
              channels=1, num_classes=10, test_fraction=0.2, split_seed=0)
CIFAR = dict(name="cifar", plugin="plugins.images", image_size=32, patch_size=4, channels=3, num_classes=10)


def _take(it, n):
    return list(itertools.islice(it, n))


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    d = tmp_path_factory.mktemp("digits")
    return images.prepare(DIGITS, str(d)), d


# ---- digits (offline default) -------------------------------------------------------------------------

def test_digits_prepare_meta(digits):
    meta, d = digits
    assert meta["num_classes"] == 10 and meta["image_shape"] == [1, 8, 8] and meta["max_value"] == 16
    assert meta["counts"]["train"] + meta["counts"]["test"] == 1797
    assert abs(meta["counts"]["test"] / 1797 - 0.2) < 0.01
    # stratified: every class is in both splits at ~ the same ratio
    for tr, te in zip(meta["class_counts"]["train"], meta["class_counts"]["test"]):
        assert abs(te / (tr + te) - 0.2) < 0.02
    x = np.load(d / "train_x.npy", mmap_mode="r")
    assert x.dtype == np.uint8 and x.shape == (meta["counts"]["train"], 1, 8, 8) and x.max() == 16
    # the split and arrays are deterministic: a second prepare gives the same fingerprint
    assert images.prepare(DIGITS, str(d / "again"))["fingerprint"] == meta["fingerprint"]


def test_digits_train_test_disjoint():
    from sklearn.datasets import load_digits
    y = load_digits().target
    tr, te = images.stratified_split(y, 0.2, 0)
    assert len(np.intersect1d(tr, te)) == 0 and len(tr) + len(te) == len(y)
    tr2, te2 = images.stratified_split(y, 0.2, 1)
    assert not np.array_equal(te, te2)


def test_loader_batches_and_normalization(digits):
    meta, d = digits
    b = next(images.loader("train", cfg=DIGITS, meta=meta, data_dir=str(d), batch_size=32, seed=0))
    assert set(b) == {"images", "targets"}
    assert b["images"].dtype == torch.float32 and b["images"].shape == (32, 1, 8, 8)
    assert b["targets"].dtype == torch.int64 and b["targets"].shape == (32,)
    assert images.units(b) == 32
    # one full epoch of the train split, normalized with the train mean/std: mean ~0, std ~1
    n = meta["counts"]["train"]
    epoch = torch.cat([x["images"] for x in _take(images.loader("train", cfg=DIGITS, meta=meta, data_dir=str(d),
                                                                batch_size=n, seed=3), 1)])
    assert abs(epoch.mean().item()) < 1e-4 and abs(epoch.std(unbiased=False).item() - 1) < 1e-4


def test_loader_deterministic_and_resumable(digits):
    meta, d = digits
    kw = dict(cfg=DIGITS, meta=meta, data_dir=str(d), batch_size=100)
    a = _take(images.loader("train", seed=7, **kw), 40)  # 4000 samples: crosses epoch boundaries
    b = _take(images.loader("train", seed=7, **kw), 40)
    c = _take(images.loader("train", seed=7, start=23, **kw), 5)
    other = next(images.loader("train", seed=8, **kw))
    for x, y in zip(a, b):
        assert torch.equal(x["images"], y["images"]) and torch.equal(x["targets"], y["targets"])
    for x, y in zip(a[23:28], c):
        assert torch.equal(x["images"], y["images"]) and torch.equal(x["targets"], y["targets"])
    assert not torch.equal(a[0]["targets"], other["targets"])
    # epoch-wise sampling without replacement: the first epoch covers every train sample exactly once
    n = meta["counts"]["train"]
    labels = torch.cat([x["targets"] for x in a])[:n].numpy()
    assert np.array_equal(np.bincount(labels, minlength=10), meta["class_counts"]["train"])


def test_val_split_reads_test_set(digits):
    meta, d = digits
    v = next(images.loader("val", cfg=DIGITS, meta=meta, data_dir=str(d), batch_size=meta["counts"]["test"], seed=0))
    assert np.array_equal(np.bincount(v["targets"].numpy(), minlength=10), meta["class_counts"]["test"])
    with pytest.raises(ValueError, match="unknown split"):
        next(images.loader("bogus", cfg=DIGITS, meta=meta, data_dir=str(d), batch_size=2, seed=0))


def test_example_batch_needs_no_files():
    for cfg, shape in ((DIGITS, (5, 1, 8, 8)), (CIFAR, (5, 3, 32, 32))):
        b = images.example_batch(cfg, 5)
        assert b["images"].shape == shape and b["images"].dtype == torch.float32
        assert b["targets"].dtype == torch.int64 and int(b["targets"].max()) < 10
        assert images.units(b) == 5


def test_config_mismatch_is_reported(tmp_path):
    with pytest.raises(ValueError, match="image_size=32 vs 8"):
        images.prepare({**DIGITS, "image_size": 32}, str(tmp_path))
    with pytest.raises(ValueError, match="expected one of"):
        images.prepare({**DIGITS, "source": "mnist"}, str(tmp_path))


# ---- CIFAR-10 official python format --------------------------------------------------------------------

def _fake_cifar(rng, n):
    return rng.integers(0, 256, size=(n, 3072), dtype=np.uint8), rng.integers(0, 10, size=n).tolist()


def _write_cifar_folder(folder, n_per_batch=6, n_test=10):
    """Small files in the official format: pickled dicts with b'data' (N, 3072) uint8 and b'labels'."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    train_x, train_y = [], []
    for i in range(1, 6):
        x, y = _fake_cifar(rng, n_per_batch)
        y[0] = i  # every batch contributes a known label
        with open(folder / f"data_batch_{i}", "wb") as f:
            pickle.dump({b"batch_label": f"training batch {i} of 5".encode(), b"labels": y, b"data": x,
                         b"filenames": [b"x.png"] * n_per_batch}, f, protocol=2)
        train_x.append(x)
        train_y += y
    tx, ty = _fake_cifar(rng, n_test)
    ty = [i % 10 for i in range(n_test)]
    with open(folder / "test_batch", "wb") as f:
        pickle.dump({b"batch_label": b"testing batch 1 of 1", b"labels": ty, b"data": tx}, f, protocol=2)
    return np.concatenate(train_x), np.array(train_y), tx, np.array(ty)


def test_cifar_dir_prepare_and_load(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    train_x, train_y, test_x, test_y = _write_cifar_folder(folder)
    cfg = {**CIFAR, "source": "cifar_dir", "path": str(tmp_path)}  # the parent folder works too
    meta = images.prepare(cfg, str(tmp_path / "out"))
    assert meta["counts"] == {"train": 30, "test": len(test_y)} and meta["image_shape"] == [3, 32, 32]
    x = np.load(tmp_path / "out" / "train_x.npy")
    assert np.array_equal(x, train_x.reshape(-1, 3, 32, 32))  # CHW row order of the official format
    assert np.array_equal(np.load(tmp_path / "out" / "test_y.npy"), test_y)
    ref = train_x.reshape(-1, 3, 32, 32).astype(np.float64) / 255
    assert np.allclose(meta["mean"], ref.mean(axis=(0, 2, 3))) and np.allclose(meta["std"], ref.std(axis=(0, 2, 3)))
    b = next(images.loader("train", cfg=cfg, meta=meta, data_dir=str(tmp_path / "out"), batch_size=30, seed=0))
    assert b["images"].shape == (30, 3, 32, 32)
    # a batch covering the train set once: un-normalizing gives back exactly the original images and labels
    mean, std = np.array(meta["mean"]).reshape(1, 3, 1, 1), np.array(meta["std"]).reshape(1, 3, 1, 1)
    raw = np.rint((b["images"].numpy().astype(np.float64) * std + mean) * 255).astype(np.int64)
    flat = train_x.astype(np.int64)
    for r, t in zip(raw.reshape(30, -1), b["targets"].numpy()):
        match = np.flatnonzero((flat == r).all(1))
        assert len(match) == 1 and train_y[match[0]] == t
    assert np.array_equal(np.sort(b["targets"].numpy()), np.sort(train_y))

    # the official tarball is read directly as well, giving identical arrays
    tgz = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(tgz, "w:gz") as tar:
        tar.add(folder, arcname="cifar-10-batches-py")
    meta2 = images.prepare({**cfg, "path": str(tgz)}, str(tmp_path / "out2"))
    assert meta2["fingerprint"] == meta["fingerprint"]


def test_cifar_dir_errors(tmp_path):
    with pytest.raises(ValueError, match="needs dataset.path"):
        images.prepare({**CIFAR, "source": "cifar_dir", "path": None}, str(tmp_path / "o"))
    (tmp_path / "partial").mkdir()
    (tmp_path / "partial" / "test_batch").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match="data_batch_1"):
        images.prepare({**CIFAR, "source": "cifar_dir", "path": str(tmp_path / "partial")}, str(tmp_path / "o"))


# ---- CIFAR-10 through HF datasets ---------------------------------------------------------------------

def _hf_cifar(n_train=12, n_test=10):
    datasets = pytest.importorskip("datasets")
    from PIL import Image
    rng = np.random.default_rng(1)
    feats = datasets.Features({"img": datasets.Image(),
                               "label": datasets.ClassLabel(names=images.CIFAR_CLASSES)})
    arrays, out = {}, {}
    for split, n in (("train", n_train), ("test", n_test)):
        x = rng.integers(0, 256, size=(n, 32, 32, 3), dtype=np.uint8)
        y = [i % 10 for i in range(n)]
        arrays[split] = (x, np.array(y))
        out[split] = datasets.Dataset.from_dict({"img": [Image.fromarray(a) for a in x], "label": y}, features=feats)
    return datasets.DatasetDict(out), arrays


def test_hf_conversion_and_prepare_from_hub_mock(tmp_path, monkeypatch):
    dd, arrays = _hf_cifar()
    monkeypatch.setattr(cifar, "_hub_reachable", lambda name, timeout=5.0: (True, ""))
    calls = []
    monkeypatch.setattr(cifar, "_hf_load", lambda name, revision=None: calls.append(name) or dd)
    meta = images.prepare({**CIFAR, "source": "cifar_hf", "hf_name": "uoft-cs/cifar10"}, str(tmp_path))
    assert calls == ["uoft-cs/cifar10"]
    assert meta["counts"] == {"train": 12, "test": 10} and meta["class_names"][0] == "airplane"
    x = np.load(tmp_path / "train_x.npy")
    assert np.array_equal(x, arrays["train"][0].transpose(0, 3, 1, 2))  # HWC PIL -> CHW
    assert np.array_equal(np.load(tmp_path / "test_y.npy"), arrays["test"][1])


def test_hf_local_saved_dataset(tmp_path):
    dd, arrays = _hf_cifar()
    dd.save_to_disk(str(tmp_path / "cifar10_local"))
    meta = images.prepare({**CIFAR, "source": "cifar_hf", "hf_name": str(tmp_path / "cifar10_local")},
                          str(tmp_path / "out"))
    assert np.array_equal(np.load(tmp_path / "out" / "test_x.npy"), arrays["test"][0].transpose(0, 3, 1, 2))
    assert meta["source"] == "cifar_hf"


def test_hf_offline_fails_fast_and_clearly(tmp_path, monkeypatch):
    # no network: the reachability probe fails (as it does on an offline machine) -> clear error in seconds
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # discard port: connection refused at once
    t0 = time.time()
    with pytest.raises(RuntimeError, match="unreachable") as e:
        images.prepare({**CIFAR, "source": "cifar_hf", "hf_name": "uoft-cs/cifar10"}, str(tmp_path))
    assert time.time() - t0 < 10
    assert "cifar_dir" in str(e.value) and "digits" in str(e.value)


def test_hf_offline_mode_without_cache_is_clear(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")

    def fail(name, revision=None):
        raise ConnectionError("Couldn't reach the Hub (offline mode)")
    monkeypatch.setattr(cifar, "_hf_load", fail)
    with pytest.raises(RuntimeError, match="offline mode is on"):
        images.prepare({**CIFAR, "source": "cifar_hf", "hf_name": "uoft-cs/cifar10"}, str(tmp_path))
