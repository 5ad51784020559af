"""Every registered dataset, through the registry and `spikinghash data list` (parametrized over the registered datasets)."""

from __future__ import annotations

from pathlib import Path

import pytest

from spikinghash.cli.main import main
from spikinghash.data.registry import list_datasets, load_split
from spikinghash.errors import DataError

pytestmark = pytest.mark.usefixtures("offline")
FILE_DATASETS = [info.name for info in list_datasets() if info.needs_root]


def test_list_shows_every_dataset_of_the_paper(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "list"]) == 0
    names = {line.split()[0] for line in capsys.readouterr().out.splitlines()}
    assert {"ucf101-dvs", "hmdb51-dvs", "hardvs", "cifar10", "cifar100", "tiny-imagenet",
            "cifar10-dvs", "dvs-gesture"} <= names


@pytest.mark.parametrize("name", FILE_DATASETS)
def test_a_missing_root_is_a_data_error_that_says_what_belongs_there(name: str, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="expected|not found") as err:
        load_split(name, "query", root=tmp_path / "nowhere")
    assert str(tmp_path / "nowhere") in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(DataError, match="SPIKINGHASH_DATA_ROOT"):
        load_split(name, "query")
