"""Energy per sample split by layer and cause: the record every energy model returns.

Causes (``CAUSES``): ``synaptic`` (synaptic events / MACs / ACs), ``neuron`` (neuron updates'
arithmetic), ``memory`` (SRAM reads and writes, routing-table lookups), ``static`` (leakage over the
run's time). Layers: the graph's neuron layers (a layer owns the synapse paths that end in it and
the messages of the spikes it fires), plus ``"input"`` (the input events' messages) and
``"(static)"`` (the whole chip's static energy); all in pJ per sample.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

CAUSES = ("synaptic", "neuron", "memory", "static")
INPUT_ROW, STATIC_ROW = "input", "(static)"


@dataclass
class ModelCost:
    """Per-layer, per-cause energy (pJ per sample) of one model; ``assumptions`` says what was priced how."""

    name: str
    label: str
    assumptions: dict[str, Any] = field(default_factory=dict)
    layers: dict[str, dict[str, float]] = field(default_factory=dict)

    def add(self, layer: str, cause: str, pj: float) -> None:
        if cause not in CAUSES:
            raise ValueError(f"cause must be one of {CAUSES}, got {cause!r}")
        row = self.layers.setdefault(layer, dict.fromkeys(CAUSES, 0.0))
        row[cause] += float(pj)

    @property
    def total(self) -> float:
        return sum(sum(row.values()) for row in self.layers.values())

    def by_cause(self) -> dict[str, float]:
        return {c: sum(row[c] for row in self.layers.values()) for c in CAUSES}

    def driver(self) -> str:
        """The cause with the largest share of the total."""
        causes = self.by_cause()
        return max(causes, key=causes.__getitem__)

    def as_dict(self) -> dict[str, Any]:
        total = self.total
        causes = self.by_cause()
        return {"label": self.label, "energy_pj_per_sample": total, "by_cause_pj": causes,
                "share_by_cause": {c: (v / total if total else 0.0) for c, v in causes.items()},
                "driver": self.driver(), "assumptions": self.assumptions,
                "layers": [{"name": n, **row, "total": sum(row.values())} for n, row in self.layers.items()]}
