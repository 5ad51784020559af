"""UCF101-DVS (Bi et al., TIP 2020) from files already on disk, split by UCF101's official lists.

UCF101's 13,320 clips replayed to a DAVIS240C, one ``.mat`` recording per clip (read by
:mod:`spikinghash.data.mat_events`: ``x``, ``y``, ``ts`` in µs, ``pol``; 240 x 180
pixels, 2 polarities; samples are centred in a 240 x 192 frame, 6 blank rows above and
below, since the models need sides divisible by 16). Expected layout: the release's class
folders, named as in UCF101, next to UCF101's own split files (``UCF101TrainTestSplits-RecognitionTask.zip``
from the UCF101 page, which unpacks to ``ucfTrainTestlist/``)::

    <root>/UCF101_DVS/<Class>/v_<Class>_g<NN>_c<NN>.mat    13,320 files, 101 class folders
    <root>/ucfTrainTestlist/classInd.txt                   "1 ApplyEyeMakeup" ... "101 YoYo"
    <root>/ucfTrainTestlist/trainlist0{1,2,3}.txt          "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1"
    <root>/ucfTrainTestlist/testlist0{1,2,3}.txt           "ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi"

``<root>`` may also be the ``UCF101_DVS`` folder itself, with ``ucfTrainTestlist/`` (or
the list files) inside it or next to the class folders. ``root=None`` reads
``$SPIKINGHASH_DATA_ROOT/ucf101-dvs``. Nothing is downloaded. A list entry
``<Class>/<clip>.avi`` is the recording ``<Class>/<clip>.mat`` (matched case-insensitively,
since UCF101 spells a few clips differently from their folders, e.g.
``HandstandPushups/v_HandStandPushups_...``); every listed clip must be on disk.

Retrieval protocol (the paper's, Sec. IV-B: "the official split files of the original
UCF101 videos"): query = ``testlist0<fold>`` (3,783 clips in fold 1; optionally a seeded
subset of ``query_per_class`` per class), database = ``trainlist0<fold>`` (9,537 in fold
1), train = database. Labels follow ``classInd.txt`` (0-based).

Similar classes: none. The paper's NDCG/ACG ground truth (Table XIII) came from
clustering VideoMAE features of UCF101 and was not published, and UCF101 defines no
similar classes; none are invented here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from spikinghash.data.event_files import EventFileSplit, dataset_folder, dataset_root
from spikinghash.data.mat_events import DAVIS240_FRAME, read_davis240_recording
from spikinghash.data.registry import DatasetInfo, register_dataset
from spikinghash.data.retrieval_split import query_subset
from spikinghash.errors import ConfigError, DataError

# UCF101's classInd.txt, in its order (label = line number - 1).
UCF101_CLASSES = (
    "ApplyEyeMakeup", "ApplyLipstick", "Archery", "BabyCrawling", "BalanceBeam", "BandMarching",
    "BaseballPitch", "Basketball", "BasketballDunk", "BenchPress", "Biking", "Billiards", "BlowDryHair",
    "BlowingCandles", "BodyWeightSquats", "Bowling", "BoxingPunchingBag", "BoxingSpeedBag", "BreastStroke",
    "BrushingTeeth", "CleanAndJerk", "CliffDiving", "CricketBowling", "CricketShot", "CuttingInKitchen",
    "Diving", "Drumming", "Fencing", "FieldHockeyPenalty", "FloorGymnastics", "FrisbeeCatch", "FrontCrawl",
    "GolfSwing", "Haircut", "Hammering", "HammerThrow", "HandstandPushups", "HandstandWalking", "HeadMassage",
    "HighJump", "HorseRace", "HorseRiding", "HulaHoop", "IceDancing", "JavelinThrow", "JugglingBalls",
    "JumpingJack", "JumpRope", "Kayaking", "Knitting", "LongJump", "Lunges", "MilitaryParade", "Mixing",
    "MoppingFloor", "Nunchucks", "ParallelBars", "PizzaTossing", "PlayingCello", "PlayingDaf", "PlayingDhol",
    "PlayingFlute", "PlayingGuitar", "PlayingPiano", "PlayingSitar", "PlayingTabla", "PlayingViolin",
    "PoleVault", "PommelHorse", "PullUps", "Punch", "PushUps", "Rafting", "RockClimbingIndoor", "RopeClimbing",
    "Rowing", "SalsaSpin", "ShavingBeard", "Shotput", "SkateBoarding", "Skiing", "Skijet", "SkyDiving",
    "SoccerJuggling", "SoccerPenalty", "StillRings", "SumoWrestling", "Surfing", "Swing", "TableTennisShot",
    "TaiChi", "TennisSwing", "ThrowDiscus", "TrampolineJumping", "Typing", "UnevenBars", "VolleyballSpiking",
    "WalkingWithDog", "WallPushups", "WritingOnBoard", "YoYo",
)

UCF101_DVS_INFO = DatasetInfo(
    name="ucf101-dvs",
    kind="events",
    sensor_size=DAVIS240_FRAME,
    classes=UCF101_CLASSES,
    description="UCF101-DVS: 101 human actions by a DAVIS240 (240x180), official UCF101 splits; your files, --root",
    needs_root=True,
)

_SPLIT_LIST = {"query": "testlist", "database": "trainlist", "train": "trainlist"}
_FOLDS = (1, 2, 3)
_LISTS_FOLDER = "ucfTrainTestlist"
_SOURCE = ("the recordings from https://github.com/PIX2NVS/NVS_FeatureLearning (UCF101-DVS) and the split "
           "files from UCF101's page (UCF101TrainTestSplits-RecognitionTask.zip)")


def _lists_dir(top: Path, base: Path, fold: int) -> Path:
    """The folder holding ``trainlist0<fold>.txt``: ``ucfTrainTestlist/`` in the root or the data folder, or
    either of those itself."""
    for d in (top / _LISTS_FOLDER, base / _LISTS_FOLDER, base, top):
        if (d / f"trainlist0{fold}.txt").is_file():
            return d
    raise DataError(
        f"UCF101 split files not found: expected {top}/{_LISTS_FOLDER}/trainlist0{fold}.txt and "
        f"testlist0{fold}.txt (the official split files); get {_SOURCE} and unpack the zip into {top}"
    )


def _check_class_index(lists: Path) -> None:
    """``classInd.txt``, where present, must list the 101 classes in :data:`UCF101_CLASSES`' order."""
    path = lists / "classInd.txt"
    if not path.is_file():
        return
    names = [line.split()[-1] for line in path.read_text(errors="replace").splitlines() if line.strip()]
    if tuple(names) != UCF101_CLASSES:
        bad = next((i for i, (a, b) in enumerate(zip(names, UCF101_CLASSES)) if a != b), min(len(names), 101))
        raise DataError(
            f"{path}: line {bad + 1} does not match UCF101's classInd.txt (expected 101 classes "
            f"'1 ApplyEyeMakeup' ... '101 YoYo'); use the official split files unchanged"
        )


def _read_list(path: Path) -> list[tuple[str, int]]:
    """``(clip stem, label)`` for every line ``<Class>/<clip>.avi [label]`` of an official list."""
    if not path.is_file():
        raise DataError(f"UCF101 split file {path} not found; unpack the official split files (all six lists) there")
    by_name = {c.lower(): i for i, c in enumerate(UCF101_CLASSES)}
    entries = []
    for n, line in enumerate(path.read_text(errors="replace").splitlines(), start=1):
        if not line.strip():
            continue
        tokens = line.split()
        folder, _, clip = tokens[0].replace("\\", "/").partition("/")
        label = by_name.get(folder.lower())
        listed = tokens[1] if len(tokens) > 1 else None
        if label is None or not clip or (listed is not None and listed != str(label + 1)):
            raise DataError(
                f"{path}, line {n}: {line.strip()!r} is not '<Class>/<clip>.avi [class number]' with one of "
                "UCF101's 101 classes; use the official split files unchanged"
            )
        entries.append((Path(clip).stem, label))
    return entries


def _index_recordings(top: Path, base: Path) -> dict[str, Path]:
    """Every ``<Class>/<clip>.mat`` under ``base``, by lower-cased clip name; checks the class folders."""
    folders = {d.name.lower(): d for d in base.iterdir() if d.is_dir()} if base.is_dir() else {}
    if not any(name.lower() in folders for name in UCF101_CLASSES):
        raise DataError(
            f"UCF101-DVS not found: expected {top}/UCF101_DVS/<Class>/v_<Class>_g<NN>_c<NN>.mat (or "
            f"{top}/<Class>/...), one folder per UCF101 class; get {_SOURCE} and pass --root <root>"
        )
    missing = [name for name in UCF101_CLASSES if name.lower() not in folders]
    if missing:
        raise DataError(
            f"UCF101-DVS is incomplete: no class folder {base / missing[0]} ({len(missing)} of 101 missing); "
            "extract the whole release again"
        )
    index: dict[str, Path] = {}
    for name in UCF101_CLASSES:
        for path in folders[name.lower()].glob("*.mat"):
            key = path.stem.lower()
            if key in index:
                raise DataError(f"{path} and {index[key]} are the same clip; remove one of them")
            index[key] = path
    return index


def load_ucf101_dvs(
    split: str, root: Path | None = None, *, fold: int = 1, query_per_class: int | None = None, seed: int = 0
) -> EventFileSplit:
    """One retrieval split of UCF101-DVS under UCF101's official split ``fold``.

    Args:
        split: ``"query"`` (testlist), ``"database"`` or ``"train"`` (both trainlist).
        root: folder holding ``UCF101_DVS/`` and ``ucfTrainTestlist/`` (see the module docstring).
        fold: which of UCF101's three official splits, 1, 2 or 3 (the paper does not say; 1 is usual).
        query_per_class: keep only this many seeded test clips per class as queries (``None``: all).
        seed: seed of that subset.
    """
    if fold not in _FOLDS:
        raise ConfigError(f"fold={fold!r}: UCF101 has the official splits 1, 2 and 3; use -o fold=1")
    top = dataset_root(UCF101_DVS_INFO.name, root, "a folder holding UCF101_DVS/<Class>/*.mat and ucfTrainTestlist/")
    base = dataset_folder(top, "UCF101_DVS")
    index = _index_recordings(top, base)
    lists = _lists_dir(top, base, fold)
    _check_class_index(lists)
    list_file = lists / f"{_SPLIT_LIST[split]}0{fold}.txt"
    entries = _read_list(list_file)
    absent = [stem for stem, label in entries if stem.lower() not in index]
    if absent:
        raise DataError(
            f"UCF101-DVS is incomplete: {len(absent)} of the {len(entries)} clips in {list_file} have no "
            f".mat recording under {base}, e.g. {absent[0]}.mat; extract the whole release again"
        )
    paths = [index[stem.lower()] for stem, _ in entries]
    labels = np.asarray([label for _, label in entries], dtype=np.int64)
    keep = query_subset(labels, query_per_class, seed) if split == "query" else np.arange(len(paths))
    return EventFileSplit(UCF101_DVS_INFO, split, tuple(paths[i] for i in keep), labels[keep], read_davis240_recording)


register_dataset(UCF101_DVS_INFO, load_ucf101_dvs)
