"""Hugging Face sources of the text plugin: the hub (``source: hf``) and local copies (``source: hf_disk``).

``hf`` tries ``hf_path`` as a local folder first and goes to the hub only when it is not one (failing in
seconds when offline). ``hf_disk`` reads a ``datasets.save_to_disk`` folder (``Dataset`` or ``DatasetDict``),
``.arrow`` / ``.parquet`` / ``.jsonl`` files or a folder of them (the hub repository's layout, with
``*train*`` and ``*validation*`` files, keeps its splits), without the network.
"""
import os
import socket
from pathlib import Path


def _check_hub(timeout: float = 3.0):
    """Fail in seconds, with a clear message, where HF datasets would otherwise retry for minutes."""
    for var in ("HF_DATASETS_OFFLINE", "HF_HUB_OFFLINE"):
        if os.environ.get(var, "").strip().lower() in ("1", "true", "yes", "on"):
            raise RuntimeError(f"{var} is set: cannot download from the Hugging Face hub. Use dataset=pysource "
                               "(offline) or dataset=textfiles with local files (e.g. TinyStories parquet/JSONL).")
    host = os.environ.get("HF_ENDPOINT", "https://huggingface.co").split("://")[-1].split("/")[0]
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
    except OSError as e:
        raise RuntimeError(f"cannot reach the Hugging Face hub ({host}:443: {e}). Offline? Use dataset=pysource, "
                           "or download the data elsewhere and use dataset=textfiles paths=[...].") from None


def hf_docs(cfg, split):
    name, col = cfg.get("hf_path", "roneneldan/TinyStories"), cfg.get("text_column", "text")
    if Path(name).expanduser().exists():  # a local copy: never the hub
        yield from disk_docs(cfg, split)
        return
    if name.startswith(("/", ".", "~")):
        raise FileNotFoundError(f"dataset.hf_path={name!r}: no such folder; give the folder of a local copy "
                                "(save_to_disk, or .parquet/.arrow/.jsonl files)")
    _check_hub()
    import datasets
    limit = cfg.get("max_docs")
    ds = datasets.load_dataset(name, split=f"{split}[:{int(limit)}]" if limit else split)
    for i, text in enumerate(ds[col]):
        yield f"{split}:{i}", text


def _open_disk(cfg):
    """A local HF dataset: a save_to_disk folder (Dataset or DatasetDict), .arrow/.parquet files, or a folder of them."""
    import datasets
    p = Path(cfg.get("hf_path") or "").expanduser()
    if not cfg.get("hf_path") or not p.exists():
        raise FileNotFoundError(f"dataset.hf_path={str(cfg.get('hf_path'))!r}: not found; give a datasets.save_to_disk "
                                "folder or an .arrow / .parquet file")
    if p.is_dir() and ((p / "dataset_dict.json").is_file() or (p / "state.json").is_file()):
        return datasets.load_from_disk(str(p))
    files = sorted(p.glob("**/*")) if p.is_dir() else [p]
    arrow = [f for f in files if f.suffix == ".arrow"]
    parquet = [f for f in files if f.suffix == ".parquet"]
    jsonl = [f for f in files if f.suffix in (".jsonl", ".json") and f.name not in ("dataset_info.json", "state.json")]
    if arrow:
        return datasets.concatenate_datasets([datasets.Dataset.from_file(str(f)) for f in arrow])
    if parquet or jsonl:
        kind, data = ("parquet", parquet) if parquet else ("json", jsonl)
        splits = {s: [str(f) for f in data if s in f.name.lower()] for s in ("train", "validation")}
        if splits["train"] and splits["validation"]:  # the hub's layout: *train*.parquet, *validation*.parquet
            return datasets.load_dataset(kind, data_files=splits)
        return datasets.load_dataset(kind, data_files=[str(f) for f in data], split="train")
    raise ValueError(f"dataset.hf_path={str(p)!r}: no save_to_disk folder, .arrow, .parquet or .jsonl files there")


def disk_docs(cfg, split):
    ds, col = _open_disk(cfg), cfg.get("text_column", "text")
    if hasattr(ds, "keys"):  # a DatasetDict: its own splits
        name = "train" if split == "train" else cfg.get("hf_val_split", "validation")
        if name not in ds:
            raise ValueError(f"dataset.hf_path={cfg.get('hf_path')!r} has splits {sorted(ds)}, no {name!r} "
                             "(set dataset.hf_val_split)")
        ds = ds[name]
        keep = lambda i: True  # noqa: E731
    else:  # one split: every val_every-th row is held out, as for files
        k = int(cfg.get("val_every", 20))
        keep = (lambda i: i % k == k - 1) if split != "train" else (lambda i: i % k != k - 1)  # noqa: E731
    if col not in ds.column_names:
        raise ValueError(f"dataset.hf_path={cfg.get('hf_path')!r} has columns {ds.column_names}, no {col!r} "
                         "(set dataset.text_column)")
    limit, n = cfg.get("max_docs"), 0
    for i, row in enumerate(ds.select_columns([col]).iter(batch_size=1000)):
        for j, text in enumerate(row[col]):
            if keep(i * 1000 + j) and (not limit or n < int(limit)):
                n += 1
                yield f"{split}:{i * 1000 + j}", text
