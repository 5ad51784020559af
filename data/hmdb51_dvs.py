"""HMDB51-DVS (Bi et al., TIP 2020) from files already on disk, with the paper's seeded 7:3 split.

HMDB51's 6,766 clips replayed to a DAVIS240C, one ``.mat`` recording per clip (read by
:mod:`spikinghash.data.mat_events`: ``x``, ``y``, ``ts`` in µs, ``pol``; 240 x 180
pixels, 2 polarities; samples are centred in a 240 x 192 frame, 6 blank rows above and
below, since the models need sides divisible by 16). Expected layout, one folder per
HMDB51 action (``brush_hair`` ... ``wave``) as the release's archives unpack::

    <root>/HMDB_DVS/<action>/<clip>.mat      6,766 files, 51 action folders

Files may sit deeper inside an action folder. ``<root>`` may also be the folder that holds
the 51 action folders; ``root=None`` reads ``$SPIKINGHASH_DATA_ROOT/hmdb51-dvs``.
Nothing is downloaded.

Retrieval protocol (the paper's, Sec. IV-B: "a random 7:3 split for the training and test
sets"): a seeded, stratified split puts ``query_fraction`` (default 30 %) of every action
in the query (test) set, the rest in the database; train = database. HMDB51's own
three 70/30 split files are not what the paper used and are not read.

Similar classes: none; HMDB51 defines none and the paper's NDCG/ACG study (Table XIII) is
on UCF101-DVS only. :data:`TEMPORAL_PAIRS` holds the action pairs of the paper's
temporal-modelling analysis (Table XI), for per-pair accuracy, not for NDCG.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from spikinghash.data.event_files import EventFileSplit, dataset_folder, dataset_root
from spikinghash.data.mat_events import DAVIS240_FRAME, read_davis240_recording
from spikinghash.data.registry import DatasetInfo, register_dataset
from spikinghash.data.retrieval_split import protocol_indices
from spikinghash.errors import DataError

HMDB51_CLASSES = (
    "brush_hair", "cartwheel", "catch", "chew", "clap", "climb", "climb_stairs", "dive", "draw_sword",
    "dribble", "drink", "eat", "fall_floor", "fencing", "flic_flac", "golf", "handstand", "hit", "hug",
    "jump", "kick", "kick_ball", "kiss", "laugh", "pick", "pour", "pullup", "punch", "push", "pushup",
    "ride_bike", "ride_horse", "run", "shake_hands", "shoot_ball", "shoot_bow", "shoot_gun", "sit", "situp",
    "smile", "smoke", "somersault", "stand", "swing_baseball", "sword", "sword_exercise", "talk", "throw",
    "turn", "walk", "wave",
)

HMDB51_DVS_INFO = DatasetInfo(
    name="hmdb51-dvs",
    kind="events",
    sensor_size=DAVIS240_FRAME,
    classes=HMDB51_CLASSES,
    description="HMDB51-DVS: 51 human actions by a DAVIS240 (240x180), seeded 7:3 split; your files, --root",
    needs_root=True,
)

# Table XI (Sec. IV-E 1): pairs whose actions mirror each other in time ("symmetric") and
# pairs that spatial information alone separates ("asymmetric"), as label pairs.
_LABEL = {name: i for i, name in enumerate(HMDB51_CLASSES)}
TEMPORAL_PAIRS = {
    "symmetric": ((_LABEL["sit"], _LABEL["stand"]), (_LABEL["catch"], _LABEL["shoot_ball"])),
    "asymmetric": ((_LABEL["hit"], _LABEL["climb"]), (_LABEL["drink"], _LABEL["hug"])),
}

_FOLDER = "HMDB_DVS"
_SOURCE = "https://github.com/PIX2NVS/NVS_FeatureLearning (HMDB-DVS)"


def _list_files(top: Path) -> tuple[list[Path], np.ndarray]:
    """Every ``.mat`` under ``<top>[/HMDB_DVS]/<action>/``, sorted, with its action's label."""
    base = dataset_folder(top, _FOLDER)
    if not any((base / name).is_dir() for name in HMDB51_CLASSES):
        raise DataError(
            f"HMDB51-DVS not found: expected {top}/{_FOLDER}/<action>/*.mat (or {top}/<action>/*.mat), one "
            f"folder per HMDB51 action (brush_hair ... wave); get the recordings from {_SOURCE}, "
            "extract both archives and pass --root <root>"
        )
    paths: list[Path] = []
    labels: list[int] = []
    for label, name in enumerate(HMDB51_CLASSES):
        files = sorted(p for p in (base / name).rglob("*.mat") if p.is_file())
        if not files:
            raise DataError(
                f"HMDB51-DVS is incomplete: no *.mat recordings in {base / name} (expected {base}/<action>/*.mat "
                "for all 51 actions); extract both archives of the release again"
            )
        paths += files
        labels += [label] * len(files)
    return paths, np.asarray(labels, dtype=np.int64)


def load_hmdb51_dvs(
    split: str, root: Path | None = None, *, query_fraction: float = 0.3, seed: int = 0
) -> EventFileSplit:
    """One retrieval split of HMDB51-DVS.

    Args:
        split: ``"query"`` (the 30 % test share), ``"database"`` or ``"train"`` (= database, 70 %).
        root: folder holding ``HMDB_DVS/<action>/`` (or the action folders themselves).
        query_fraction: share of every action that becomes queries (the paper: 0.3).
        seed: seed of the stratified split (the paper does not publish its draw).
    """
    top = dataset_root(HMDB51_DVS_INFO.name, root, "a folder holding HMDB_DVS/<action>/*.mat")
    paths, labels = _list_files(top)
    keep = protocol_indices(labels, split, query_fraction, seed)
    return EventFileSplit(HMDB51_DVS_INFO, split, tuple(paths[i] for i in keep), labels[keep], read_davis240_recording)


register_dataset(HMDB51_DVS_INFO, load_hmdb51_dvs)
