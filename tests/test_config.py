"""Config composition, overrides, presets and validation errors (one clear line naming the key)."""
import pytest

from flops_fit.config import ConfigError, load_config, snakemake_overrides


class TestLoadConfig:
    def test_defaults_compose_and_validate(self):
        cfg = load_config()
        assert cfg["model"]["name"] == "gpt" and cfg["dataset"]["name"] == "pysource"
        assert cfg["model"]["kwargs"]["vocab_size"] == cfg["dataset"]["vocab_size"]  # interpolation resolved
        assert cfg["sweep"] == "gpt-pysource"

    def test_budget_override_parses_scientific_notation(self):
        cfg = load_config(["budgets.values=[1e12,1e13]"])
        assert cfg["budgets"]["values"] == [1e12, 1e13]

    def test_preset_applies_and_names_the_sweep(self):
        cfg = load_config(["preset=quick"])
        assert cfg["mode"] == "mock" and cfg["sweep"] == "gpt-pysource-quick-mock"

    def test_group_selection(self):
        cfg = load_config(["model=vit", "dataset=digits"])
        assert cfg["model"]["plugin"] == "plugins.vit:ViT" and cfg["sweep"] == "vit-digits"


class TestConfigErrors:
    @pytest.mark.parametrize("override, words", [
        ("model=nope", ["group 'model'", "gpt"]),
        ("preset=nope", ["group 'preset'", "quick"]),
        ("trainig.batch_size=3", ["unknown key", "trainig.batch_size"]),
        ("training.lr.bse=1", ["unknown key", "training.lr.bse"]),
        ("training.batch_size=-1", ["training.batch_size", "minimum"]),
        ("training.batch_size=abc", ["training.batch_size", "integer"]),
        ("budgets.values=[]", ["budgets.values", "non-empty"]),
        ("budgets.values=[-1e12]", ["budgets.values.0"]),
        ("mode=fast", ["mode", "real"]),
        ("planner.sizes=1", ["planner.sizes"]),
        ("model.size.min=100000", ["model.size", "min"]),
        ("notakeyvalue", ["key=value"]),
    ])
    def test_bad_value_names_the_key_in_one_line(self, override, words):
        with pytest.raises(ConfigError) as e:
            load_config([override])
        msg = str(e.value)
        assert "\n" not in msg
        for w in words:
            assert w in msg


class TestSnakemakeOverrides:
    def test_double_underscore_becomes_dot_and_lists_roundtrip(self):
        ov = snakemake_overrides({"model": "gpt", "training__batch_size": 8, "budgets__values": ["1e12", 1e13],
                                  "training__keep_ckpt": True})
        assert ov == ["model=gpt", "training.batch_size=8", "budgets.values=[1e12,10000000000000.0]",
                      "training.keep_ckpt=true"]
        cfg = load_config(ov)
        assert cfg["budgets"]["values"] == [1e12, 1e13] and cfg["training"]["batch_size"] == 8

    def test_overrides_key_passes_hydra_overrides_verbatim(self):
        assert snakemake_overrides({"overrides": "a.b=1 c=[1,2]"}) == ["a.b=1", "c=[1,2]"]
