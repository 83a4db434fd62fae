"""Task selection (--tasks, --tasks-file, --tasks-query) and what the model must compute."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from grelu_cli.errors import InputDataError, MissingResourceError, UsageError
from grelu_cli.predict.tasks import plan_tasks, read_tasks_file, resolve_tasks, strand_pairs

TASKS = pd.DataFrame(
    {
        "name": [
            "CAGE:K562+",
            "CAGE:K562-",
            "DNASE:K562",
            "DNASE:HepG2",
            "RNA:liver+",
            "RNA:liver-",
        ],
        "assay": ["CAGE", "CAGE", "DNASE", "DNASE", "RNA", "RNA"],
        "sample": ["K562 ENCODE", "K562 ENCODE", "K562", "HepG2", "liver", "liver"],
        "strand_pair": [1, 0, 2, 3, 5, 4],
    }
)


def test_no_selection_means_all() -> None:
    assert resolve_tasks(TASKS) is None


def test_names_keep_the_users_order_and_drop_repeats() -> None:
    got = resolve_tasks(TASKS, names=["DNASE:HepG2", "CAGE:K562+", "DNASE:HepG2"])
    assert got == [3, 0]


def test_unknown_name_lists_close_matches() -> None:
    with pytest.raises(
        UsageError,
        match=r"unknown task 'DNASE:K526' in --tasks \(close "
        r"matches: DNASE:K562",
    ):
        resolve_tasks(TASKS, names=["DNASE:K526"])
    with pytest.raises(UsageError, match="no close match"):
        resolve_tasks(TASKS, names=["zzz"])


def test_tasks_file(tmp_path: Path) -> None:
    f = tmp_path / "tasks.txt"
    f.write_text("# my tracks\nRNA:liver-\n\n  DNASE:K562  # comment\n")
    assert read_tasks_file(f) == ["RNA:liver-", "DNASE:K562"]
    assert resolve_tasks(TASKS, file=f) == [5, 2]
    with pytest.raises(MissingResourceError, match="does not exist"):
        resolve_tasks(TASKS, file=tmp_path / "missing.txt")
    f.write_text("nope\n")
    with pytest.raises(UsageError, match=r"--tasks-file .*tasks.txt"):
        resolve_tasks(TASKS, file=f)


def test_query_with_string_methods_keeps_table_order() -> None:
    q = "assay == 'CAGE' and sample.str.contains('K562')"
    assert resolve_tasks(TASKS, query=q) == [0, 1]
    assert resolve_tasks(TASKS, query="assay in ['RNA', 'DNASE']") == [2, 3, 4, 5]


def test_query_errors() -> None:
    with pytest.raises(
        UsageError, match=r"'tissue' is not allowed \(no such column.*columns are name, assay"
    ):
        resolve_tasks(TASKS, query="tissue == 'liver'")
    with pytest.raises(UsageError, match="selects no task"):
        resolve_tasks(TASKS, query="assay == 'ATAC'")
    with pytest.raises(UsageError, match="were both given"):
        resolve_tasks(TASKS, names=["a"], query="x")


def test_strand_pairs_validated() -> None:
    assert strand_pairs(TASKS, 6) == [1, 0, 2, 3, 5, 4]
    assert strand_pairs(TASKS.drop(columns="strand_pair"), 6) is None
    bad = TASKS.assign(strand_pair=[1, 2, 2, 3, 5, 4])
    with pytest.raises(InputDataError, match="row 0: strand_pair 1 is not mutual"):
        strand_pairs(bad, 6)
    with pytest.raises(InputDataError, match="row 5: strand_pair 9"):
        strand_pairs(TASKS.assign(strand_pair=[1, 0, 2, 3, 5, 9]), 6)
    nan = TASKS.assign(strand_pair=[1, 0, None, None, 5, 4])
    assert strand_pairs(nan, 6) == [1, 0, 2, 3, 5, 4]


def test_plan_adds_partners_only_for_rc() -> None:
    pairs = strand_pairs(TASKS, 6)
    plain = plan_tasks(6, [5, 2], pairs=pairs, rc=False)
    assert plain.computed == (5, 2) and plain.rc_swap is None and not plain.drops
    rc = plan_tasks(6, [5, 2], pairs=pairs, rc=True)
    assert rc.computed == (5, 2, 4) and rc.keep == (0, 1)
    # channel k of an rc copy takes the value of its partner's channel
    assert rc.rc_swap == (2, 1, 0) and rc.drops and rc.use_select_tasks
    both = plan_tasks(6, [0, 1], pairs=pairs, rc=True)
    assert both.computed == (0, 1) and both.rc_swap == (1, 0)


def test_plan_for_softmax_and_unselectable_models() -> None:
    soft = plan_tasks(6, [3], elementwise=False)
    assert soft.computed == tuple(range(6)) and soft.keep == (3,) and not soft.use_select_tasks
    sliced = plan_tasks(6, [3, 1], can_select=False)
    assert sliced.slice_model_output == (3, 1) and not sliced.use_select_tasks
    full = plan_tasks(6, None)
    assert full.computed == tuple(range(6)) and not full.use_select_tasks
    with pytest.raises(UsageError, match="out of range"):
        plan_tasks(6, [6])
