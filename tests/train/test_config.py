"""Tests for train/config.py: precedence, files, type checks, unknown keys, validation, round trip."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest
import yaml

from spikinghash.errors import ConfigError, DataError
from spikinghash.train.config import TrainConfig, check_config, resolve_config, write_config

REPO = Path(__file__).resolve().parents[2]
FLAGS = {"model": "transhash", "data": "dvs-digits", "bits": 16}


def test_defaults_are_the_documented_ones() -> None:
    cfg = TrainConfig()
    assert (cfg.optimizer, cfg.lr, cfg.weight_decay, cfg.warmup_epochs, cfg.warmup_steps) == ("adamp", 5e-3, 0.01, 0, 0)
    assert (cfg.epochs, cfg.T, cfg.batch_size, cfg.seed, cfg.device) == (200, 8, 32, 0, "auto")
    loss = cfg.loss
    assert (loss.alpha, loss.beta, loss.soft_similarity, loss.tau, loss.gamma, loss.lam) == (0.2, 0.8, True, 0.5, 20.0, 0.1)
    assert (cfg.eval_every, cfg.map_k) == (10, "all")


def test_file_then_flags_then_overrides(tmp_path: Path) -> None:
    file = tmp_path / "c.yaml"
    # "5e-3" without a dot is text to YAML 1.1; the float field still reads it as 0.005.
    file.write_text("model: spikinghash_ti\nbits: 64\nlr: 5e-3\nepochs: 7\nloss:\n  tau: 0.3\n  alpha: 1\n"
                    "data_options:\n  seed: 4\n")
    cfg = resolve_config(file, {"model": "transhash", "data": "dvs-digits", "bits": None},
                         ["epochs=9", "loss.soft_similarity=false", "data_options.digits_per_class=3", "map_k=100"])
    assert (cfg.model, cfg.data, cfg.bits, cfg.lr, cfg.epochs) == ("transhash", "dvs-digits", 64, 0.005, 9)
    assert (cfg.loss.tau, cfg.loss.alpha, cfg.loss.soft_similarity) == (0.3, 1.0, False)
    assert isinstance(cfg.loss.alpha, float) and cfg.map_k == 100
    assert cfg.data_options == {"seed": 4, "digits_per_class": 3}


def test_toml_files_read_like_yaml(tmp_path: Path) -> None:
    file = tmp_path / "c.toml"
    file.write_text('model = "transhash"\ndata = "dvs-digits"\nbits = 32\n[loss]\ngamma = 10.0\n'
                    '[model_options]\ndim = 16\n')
    cfg = resolve_config(file)
    assert (cfg.bits, cfg.loss.gamma, cfg.model_options) == (32, 10.0, {"dim": 16})


def test_resolved_config_round_trips_through_config_yaml(tmp_path: Path) -> None:
    cfg = resolve_config(None, FLAGS, ["lr=0.001", "map_k=all", "data_root=/data", "model_options.dim=16",
                                       "loss.lam=0.5", "warmup_steps=3"])
    write_config(cfg, tmp_path / "config.yaml")
    assert resolve_config(tmp_path / "config.yaml") == cfg
    assert yaml.safe_load((tmp_path / "config.yaml").read_text())["loss"]["lam"] == 0.5


@pytest.mark.parametrize("override, message", [
    ("tau=0.4", "unknown setting 'tau'; did you mean loss.tau?"),
    ("epoch=3", "did you mean epochs"),
    ("loss.gama=3", "did you mean loss.gamma"),
    ("bits=2.5", "bits='2.5' is not int"),
    ("lr=fast", "lr='fast' is not float"),
    ("loss.soft_similarity=maybe", "is not bool"),
    ("data_options=[1, 2]", "is not dict"),
    ("epochs", "is not KEY=VALUE"),
    ("=3", "is not KEY=VALUE"),
])
def test_bad_overrides_are_one_line_config_errors(override: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        resolve_config(None, FLAGS, [override])
    assert message in str(err.value) and "\n" not in str(err.value)


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        resolve_config(tmp_path / "missing.yaml")
    (tmp_path / "c.json").write_text("{}")
    with pytest.raises(ConfigError, match=r"must end in \.yaml, \.yml or \.toml"):
        resolve_config(tmp_path / "c.json")
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="must hold a mapping"):
        resolve_config(tmp_path / "list.yaml")
    (tmp_path / "broken.yaml").write_text("model: [unclosed\n")
    with pytest.raises(ConfigError, match="does not parse"):
        resolve_config(tmp_path / "broken.yaml")
    (tmp_path / "unknown.yaml").write_text("loss:\n  alhpa: 1\n")
    with pytest.raises(ConfigError, match="did you mean loss.alpha"):
        resolve_config(tmp_path / "unknown.yaml")


@pytest.mark.parametrize("changes, error, message", [
    ({"model": None}, ConfigError, "no model given; pass --model"),
    ({"model": "spikinghash_tii"}, ConfigError, "unknown model 'spikinghash_tii'; did you mean spikinghash_ti"),
    ({"data": "dvs-digit"}, DataError, "unknown dataset 'dvs-digit'"),
    ({"bits": None}, ConfigError, "no code length given"),
    ({"bits": 0}, ConfigError, "bits=0 is impossible"),
    ({"bits": -8}, ConfigError, "bits=-8 is impossible"),
    ({"T": 0}, ConfigError, "T=0 time steps is impossible"),
    ({"T": 5000}, ConfigError, "T=5000 time steps is impossible"),
    ({"epochs": 0}, ConfigError, "epochs=0"),
    ({"batch_size": 1}, ConfigError, "at least 2 samples"),
    ({"device": "tpu"}, ConfigError, "device='tpu'"),
    ({"optimizer": "sgd"}, ConfigError, "use one of adamw, adamp"),
    ({"lr": 0.0}, ConfigError, "lr=0.0"),
    ({"warmup_epochs": 1, "warmup_steps": 5}, ConfigError, "not both"),
    ({"warmup_epochs": 200}, ConfigError, "leaves no epoch"),
    ({"map_k": "some"}, ConfigError, "map_k='some'"),
    ({"map_k": 0}, ConfigError, "map_k=0"),
])
def test_impossible_settings_are_refused(make_config: Callable[..., TrainConfig], changes: dict, error: type,
                                         message: str) -> None:
    with pytest.raises(error) as err:
        check_config(make_config(**changes))
    assert message in str(err.value)


def test_impossible_loss_settings_are_refused(make_config: Callable[..., TrainConfig]) -> None:
    for key, value, message in (("alpha", -1.0, "loss.alpha=-1.0"), ("tau", 1.0, "loss.tau=1.0"),
                                ("gamma", 0.0, "loss.gamma=0.0"), ("lam", -0.1, "loss.lam=-0.1")):
        cfg = make_config()
        setattr(cfg.loss, key, value)
        with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
            check_config(cfg)


@pytest.mark.parametrize("path", sorted((REPO / "configs").glob("*.yaml")), ids=lambda p: p.name)
def test_example_configs_are_valid(path: Path) -> None:
    check_config(resolve_config(path))
