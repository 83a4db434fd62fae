"""Track strands and strand collapsing against Calico's targets_prep_strand + strand masks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from grelu_cli.errors import InputDataError
from grelu_cli.genes.strands import gene_tasks, track_strands
from tests.genes import calico_reference as ref


def _borzoi_like(rng: np.random.Generator, n_groups: int) -> pd.DataFrame:
    """Pairs listed '+' then '-' (as Borzoi's tables) with unstranded tracks in between."""
    names: list[str] = []
    pairs: list[int] = []
    for g in range(n_groups):
        if rng.random() < 0.6:
            i = len(names)
            names += [f"RNA:s{g}+", f"RNA:s{g}-"]
            pairs += [i + 1, i]
        else:
            names.append(f"DNASE:s{g}")
            pairs.append(len(names) - 1)
    return pd.DataFrame({"name": names, "strand_pair": pairs})


@pytest.mark.parametrize("seed", range(4))
def test_gene_strand_masks_equal_calicos(seed: int) -> None:
    tasks = _borzoi_like(np.random.default_rng(seed), 30)
    gt = gene_tasks(tasks)
    calico = ref.calico_targets(list(tasks["name"]), list(tasks["strand_pair"]))
    collapsed = ref.targets_prep_strand(calico)
    assert gt.names == list(collapsed.identifier)
    np.testing.assert_array_equal(gt.track_strand, calico.strand.to_numpy())
    plus_mask = np.flatnonzero(calico.strand.to_numpy() != "-")
    minus_mask = np.flatnonzero(calico.strand.to_numpy() != "+")
    cols = gt.columns(np.array([False, True, False]))
    np.testing.assert_array_equal(cols[0], plus_mask)
    np.testing.assert_array_equal(cols[1], minus_mask)
    np.testing.assert_array_equal(cols[2], plus_mask)


def test_minus_member_first_and_pair_names() -> None:
    tasks = pd.DataFrame(
        {
            "name": ["CAGE:x-", "CAGE:x+", "ATAC:y", "RNA:z+", "RNA:z-"],
            "strand_pair": [1, 0, 2, 4, 3],
            "pair": ["CAGE:x", "CAGE:x", "ignored", "RNA:z", "RNA:z"],
        }
    )
    gt = gene_tasks(tasks)
    assert gt.names == ["CAGE:x", "ATAC:y", "RNA:z"]
    np.testing.assert_array_equal(gt.plus, [1, 2, 3])
    np.testing.assert_array_equal(gt.minus, [0, 2, 4])


def test_strand_column_wins_over_names() -> None:
    tasks = pd.DataFrame(
        {"name": ["fwd", "rev", "flat"], "strand_pair": [1, 0, 2], "strand": ["+", "-", None]}
    )
    strand, pairs = track_strands(tasks)
    assert list(strand) == ["+", "-", "."]
    assert pairs == [1, 0, 2]
    assert gene_tasks(tasks).names == ["fwd", "flat"]


def test_no_strand_pair_column_means_unstranded() -> None:
    gt = gene_tasks(pd.DataFrame({"name": ["a+", "b-"]}))
    assert gt.names == ["a+", "b-"]
    np.testing.assert_array_equal(gt.plus, gt.minus)


@pytest.mark.parametrize(
    ("table", "match"),
    [
        ({"name": ["a+", "b+"], "strand_pair": [1, 0]}, "strand pair but their strands"),
        ({"name": ["ax", "bx"], "strand_pair": [1, 0]}, "last character of its name"),
        ({"name": ["a", "b"], "strand_pair": [0, 1], "strand": ["+", "."]}, "no strand_pair"),
        ({"name": ["a", "b"], "strand_pair": [1, 1]}, "not mutual"),
    ],
)
def test_bad_tables_are_input_errors(table: dict, match: str) -> None:
    with pytest.raises(InputDataError, match=match):
        gene_tasks(pd.DataFrame(table))
