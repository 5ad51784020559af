"""Training settings: one dataclass, read from YAML/TOML plus ``key=value`` overrides.

Resolution order (later wins): the dataclass defaults, the config file, the
``--model/--data/--bits/--root`` flags, then ``key=value`` overrides. Keys of the
``loss`` section are dotted (``loss.tau=0.4``); ``data_options`` and
``model_options`` are free-form mappings passed to the dataset loader and the model
builder (``data_options.digits_per_class=3``). Every value is checked against the
field's type; an unknown key is a :class:`ConfigError` that names the closest keys.

Defaults and why (the paper is silent where no section is cited):

* ``optimizer=adamp, lr=5e-3``, cosine decay to 0: Spikinghash Sec. IV-B (all its
  retrieval settings). ``weight_decay=0.01``: torch's AdamW default, applied the
  decoupled way by both optimizers, so switching optimizer keeps the regularisation;
  1-D parameters (biases, norm scales) get none, timm's convention that Spikingformer's
  training code (which Spikinghash builds on) uses. ``warmup=0``: the paper describes
  only cosine decay.
* ``epochs=200, T=8``: the paper's DVS retrieval runs (UCF101-DVS, HMDB51-DVS, HARDVS).
  ``batch_size=32`` instead of their 6 (a GPU-memory limit of XL on long clips): the
  pairwise loss learns from same-class pairs in a batch, and with 16 classes a batch of
  6 rarely holds one.
* ``loss.alpha=0.2, loss.beta=0.8``: the paper's CIFAR10 weights. Its DVS weights
  (1e-3, 1.0) are not the default because our Eq. 22 is a mean over pairs (see
  ``loss_pairwise``): with alpha=1e-3 the pair term, and with it the soft similarity,
  would move the codes a thousand times less than the classifier.
  ``configs/paper_dvs.yaml`` has the literal DVS values.
* ``loss.tau=0.5`` (Eq. 20): Eq. 22 with target m' is minimised at sigma(Omega) = m',
  i.e. at Hamming distance below L/2 exactly when m' > 0.5. A class pair with
  s <= 0.5 would still be pushed apart (only less than with 0), so tau = 0.5 keeps
  exactly the relations that pull codes together. It is also well above the spread
  of cosines between unrelated membrane vectors (about 1/sqrt(L): 0.25 at 16 bits).
* ``loss.gamma=20, loss.lam=0.1`` (TransHash Eqs. 8-12): TransHash gives no values;
  these are the defaults of DeepHash-pytorch's DCH, the Cauchy loss TransHash adopts.
* ``eval_every=10`` epochs (and the last), ``map_k="all"``: dvs-digits' database is
  small enough to rank completely.
* ``task="hash"``: the retrieval model of Eq. 24, its classifier on the hash code
  ("Spikinghash-XL (Hash)" in Table VI). ``task="classify"`` is the paper's classification
  variant (Tables VI-XII): the classifier reads the pooled backbone features and L_cls
  (Eq. 23) is the whole loss (Sec. IV-C: "we optimized the model using only the
  classification loss"); ``loss.*`` weights and the soft similarity are then unused, and
  the hash layer stays as initialised.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml

from spikinghash.atomic_io import atomic_open
from spikinghash.errors import ConfigError

OPTIMIZERS = ("adamw", "adamp")
TASKS = ("hash", "classify")
DEVICES = ("auto", "cpu", "cuda")


@dataclass
class LossConfig:
    """Loss weights. Spikinghash (Eqs. 19-24): alpha, beta, soft_similarity, tau.
    TransHash (Eqs. 8-12): gamma (Cauchy scale, bits of Hamming distance), lam."""

    alpha: float = 0.2
    beta: float = 0.8
    soft_similarity: bool = True
    tau: float = 0.5
    gamma: float = 20.0
    lam: float = 0.1


@dataclass
class TrainConfig:
    """Everything that determines a training run (saved as ``RUN_DIR/config.yaml``).

    ``batch_size`` is the global batch over all processes; ``warmup_epochs`` and
    ``warmup_steps`` (optimizer steps) are alternatives, at most one non-zero.
    ``eval_every``: epochs between retrieval evaluations (0: never; the last epoch
    always counts when > 0). ``task``: one of :data:`TASKS` (see the module docstring).
    """

    model: str | None = None
    data: str | None = None
    bits: int | None = None
    task: str = "hash"
    data_root: str | None = None
    data_options: dict[str, Any] = field(default_factory=dict)
    model_options: dict[str, Any] = field(default_factory=dict)
    T: int = 8
    epochs: int = 200
    batch_size: int = 32
    seed: int = 0
    device: str = "auto"
    optimizer: str = "adamp"
    lr: float = 5e-3
    weight_decay: float = 0.01
    warmup_epochs: int = 0
    warmup_steps: int = 0
    eval_every: int = 10
    map_k: int | str = "all"
    loss: LossConfig = field(default_factory=LossConfig)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (nested dicts), as written to ``config.yaml``."""
        return dataclasses.asdict(self)


def _leaf_keys(cls: type, prefix: str = "") -> dict[str, Any]:
    """Dotted key -> field type, for every settable field (sections expanded)."""
    keys: dict[str, Any] = {}
    for name, tp in typing.get_type_hints(cls).items():
        if dataclasses.is_dataclass(tp):
            keys.update(_leaf_keys(tp, f"{prefix}{name}."))
        else:
            keys[prefix + name] = tp
    return keys


KEYS = _leaf_keys(TrainConfig)
_OPTION_FIELDS = tuple(k for k, tp in KEYS.items() if typing.get_origin(tp) is dict)


def _unknown_key(key: str) -> ConfigError:
    close = difflib.get_close_matches(key, KEYS, n=3, cutoff=0.6)
    # "tau=0.4" should point at loss.tau: also compare the last part of each key.
    last = key.rsplit(".", 1)[-1]
    close += [k for k in KEYS if k not in close and difflib.get_close_matches(last, [k.rsplit(".", 1)[-1]], cutoff=0.75)]
    hint = f"did you mean {', '.join(close[:3])}?" if close else f"known settings: {', '.join(KEYS)}"
    return ConfigError(f"unknown setting {key!r}; {hint}")


def _parse_text(text: str) -> Any:
    """A command-line value of unknown type: JSON when it parses (numbers, true, lists), else text."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


_BOOL_WORDS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


def _to_none(value: Any) -> None:
    if value is None or (isinstance(value, str) and value.lower() in ("null", "none", "~")):
        return None
    raise ValueError(value)


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in _BOOL_WORDS:
        return _BOOL_WORDS[value.lower()]
    raise ValueError(value)


def _to_int(value: Any) -> int:
    if isinstance(value, str):
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise ValueError(value)


def _to_float(value: Any) -> float:
    if isinstance(value, str):  # also mends YAML 1.1, which reads "5e-3" (no dot) as text
        return float(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    raise ValueError(value)


def _to_str(value: Any) -> str:
    if isinstance(value, str):
        return value
    raise ValueError(value)


def _to_dict(value: Any) -> dict[str, Any]:
    parsed = _parse_text(value) if isinstance(value, str) else value
    if isinstance(parsed, dict):
        return dict(parsed)
    raise ValueError(value)


#: Converters by field type: each accepts its type (and text of it) or raises ValueError.
_CONVERTERS: dict[Any, Callable[[Any], Any]] = {
    type(None): _to_none, bool: _to_bool, int: _to_int, float: _to_float, str: _to_str, dict: _to_dict}


def coerce(key: str, value: Any) -> Any:
    """Check ``value`` against the type of setting ``key`` and convert text to it."""
    tp = KEYS[key]
    options = typing.get_args(tp) if typing.get_origin(tp) in (typing.Union, type(int | str)) else (tp,)
    # None first so that "null" is never read as a string; int before float/str so "8" is 8.
    order = sorted(options, key=lambda t: (t is not type(None), t is not int, t is not float))
    for option in order:
        try:
            return _CONVERTERS[typing.get_origin(option) or option](value)
        except (ValueError, TypeError):
            continue
    names = " or ".join(getattr(t, "__name__", str(t)).replace("NoneType", "null") for t in options)
    raise ConfigError(f"setting {key}={value!r} is not {names}; write e.g. {key}={_example(tp)}")


def _example(tp: Any) -> str:
    if typing.get_origin(tp) is dict:
        return '\'{"key": 1}\''
    examples = {int: "8", float: "0.005", bool: "true", str: "name"}
    for option in typing.get_args(tp) or (tp,):
        if option in examples:
            return examples[option]
    return '\'{"key": 1}\''


def _flatten(mapping: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """A nested config mapping as ``(dotted key, value)`` pairs; option mappings stay whole."""
    pairs: list[tuple[str, Any]] = []
    for name, value in mapping.items():
        key = f"{prefix}{name}"
        if isinstance(value, dict) and key not in _OPTION_FIELDS and key.split(".")[0] not in _OPTION_FIELDS:
            pairs += _flatten(value, key + ".")
        else:
            pairs.append((key, value))
    return pairs


def set_value(cfg: TrainConfig, key: str, value: Any) -> None:
    """Set dotted ``key`` (a field, a ``loss.`` field, or ``data_options.NAME``) to a checked value."""
    head, _, rest = key.partition(".")
    if head in _OPTION_FIELDS and rest:
        getattr(cfg, head)[rest] = _parse_text(value) if isinstance(value, str) else value
        return
    if key not in KEYS:
        raise _unknown_key(key)
    target: Any = cfg
    *path, name = key.split(".")
    for part in path:
        target = getattr(target, part)
    setattr(target, name, coerce(key, value))


def read_config_file(path: str | Path) -> dict[str, Any]:
    """A YAML (``.yaml``/``.yml``) or TOML (``.toml``) config file as a mapping."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist; check the path given to --config")
    try:
        text = path.read_text()
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path} is not text (YAML or TOML); give a settings file, "
                          "e.g. configs/demo.yaml") from None
    try:
        if path.suffix in (".yaml", ".yml"):
            data = yaml.safe_load(text)
        elif path.suffix == ".toml":
            data = tomllib.loads(text)
        else:
            raise ConfigError(f"config file {path} must end in .yaml, .yml or .toml; rename it to say which")
    except (yaml.YAMLError, tomllib.TOMLDecodeError) as err:
        detail = " ".join(str(err).split())
        raise ConfigError(f"config file {path} does not parse ({detail}); fix its syntax") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping of settings, not a {type(data).__name__}; "
                          "write one `key: value` per line (see configs/demo.yaml)")
    return data


def parse_override(text: str) -> tuple[str, str]:
    """``"loss.tau=0.4"`` -> ``("loss.tau", "0.4")``."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"override {text!r} is not KEY=VALUE; write e.g. lr=0.001 or loss.tau=0.4")
    return key.strip(), value


def resolve_config(file: str | Path | None = None, flags: dict[str, Any] | None = None,
                   overrides: list[str] | tuple[str, ...] = ()) -> TrainConfig:
    """Defaults <- ``file`` <- ``flags`` (settings given as CLI flags; None = not given) <- overrides."""
    cfg = TrainConfig()
    for key, value in _flatten(read_config_file(file)) if file is not None else []:
        set_value(cfg, key, value)
    for key, value in (flags or {}).items():
        if value is not None:
            set_value(cfg, key, value)
    for text in overrides:
        set_value(cfg, *parse_override(text))
    return cfg


def config_from_dict(data: dict[str, Any]) -> TrainConfig:
    """Rebuild a :class:`TrainConfig` from :meth:`TrainConfig.to_dict` output (a checkpoint's)."""
    cfg = TrainConfig()
    for key, value in _flatten(data):
        set_value(cfg, key, value)
    return cfg


def write_config(cfg: TrainConfig, path: str | Path) -> None:
    """Write the resolved config as YAML, atomically; it reloads with ``--config``."""
    with atomic_open(path, "w") as fh:
        yaml.safe_dump(cfg.to_dict(), fh, sort_keys=False)


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise ConfigError(message)


def check_config(cfg: TrainConfig) -> None:
    """Refuse impossible settings before any data is loaded (names, ranges, combinations)."""
    from spikinghash.data.frames import check_time_steps
    from spikinghash.data.registry import dataset_info
    from spikinghash.models import list_models

    models = list_models()
    _require(cfg.model is not None, f"no model given; pass --model NAME, one of {', '.join(models)}")
    if cfg.model not in models:
        close = difflib.get_close_matches(str(cfg.model), models, n=3)
        hint = f"did you mean {', '.join(close)}?" if close else f"choose one of {', '.join(models)}"
        raise ConfigError(f"unknown model {cfg.model!r}; {hint}")
    _require(cfg.data is not None, "no dataset given; pass --data NAME (`spikinghash data list` shows them)")
    dataset_info(str(cfg.data))
    _require(cfg.bits is not None, "no code length given; pass --bits L, e.g. --bits 64")
    _require(cfg.bits is not None and cfg.bits >= 1,
             f"bits={cfg.bits} is impossible; the code length must be a positive integer, e.g. --bits 64")
    check_time_steps(cfg.T)
    _require(cfg.epochs >= 1, f"epochs={cfg.epochs}; train for at least 1 epoch")
    _require(cfg.batch_size >= 2, f"batch_size={cfg.batch_size}; the pairwise loss needs at least 2 samples per batch")
    _require(0 <= cfg.seed < 2**32, f"seed={cfg.seed}; use an integer from 0 to 2**32 - 1")
    _require(cfg.task in TASKS, f"task={cfg.task!r}; use task=hash (retrieval, Eq. 24) or task=classify "
                                "(classification head on the pooled features, L_cls only)")
    _require(cfg.device in DEVICES, f"device={cfg.device!r}; use one of {', '.join(DEVICES)}")
    _require(cfg.optimizer in OPTIMIZERS, f"optimizer={cfg.optimizer!r}; use one of {', '.join(OPTIMIZERS)}")
    _require(0 < cfg.lr < float("inf"), f"lr={cfg.lr}; the learning rate must be positive, e.g. lr=0.005")
    _require(cfg.weight_decay >= 0, f"weight_decay={cfg.weight_decay}; use 0 or a positive value")
    _require(cfg.warmup_epochs >= 0 and cfg.warmup_steps >= 0, "warm-up lengths must be 0 or positive")
    _require(not (cfg.warmup_epochs and cfg.warmup_steps),
             "set warmup_epochs or warmup_steps, not both (the other must be 0)")
    _require(cfg.warmup_epochs < cfg.epochs,
             f"warmup_epochs={cfg.warmup_epochs} leaves no epoch for the cosine decay of a "
             f"{cfg.epochs}-epoch run; use fewer warm-up epochs")
    _require(cfg.eval_every >= 0, f"eval_every={cfg.eval_every}; use 0 (never) or a number of epochs")
    _require(cfg.map_k == "all" or (isinstance(cfg.map_k, int) and cfg.map_k >= 1),
             f"map_k={cfg.map_k!r}; use a positive integer or 'all'")
    loss = cfg.loss
    _require(loss.alpha >= 0 and loss.beta >= 0 and loss.alpha + loss.beta > 0,
             f"loss.alpha={loss.alpha}, loss.beta={loss.beta}; both must be >= 0 and not both 0")
    _require(-1.0 <= loss.tau < 1.0, f"loss.tau={loss.tau}; the cosine threshold must lie in [-1, 1)")
    _require(loss.gamma > 0, f"loss.gamma={loss.gamma}; the Cauchy scale must be positive, e.g. 20")
    _require(loss.lam >= 0, f"loss.lam={loss.lam}; the quantization weight must be >= 0")
