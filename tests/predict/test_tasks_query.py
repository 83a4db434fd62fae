"""--tasks-query: a restricted expression language, never Python or pandas' query engine."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grelu_cli.errors import UsageError
from grelu_cli.predict.tasks import resolve_tasks

TASKS = pd.DataFrame(
    {
        "name": ["CAGE:K562+", "CAGE:K562-", "DNASE:K562", "DNASE:HepG2", "RNA:liver+"],
        "assay": ["CAGE", "CAGE", "DNASE", "DNASE", "RNA"],
        "sample": ["K562 ENCODE", "K562 ENCODE", "K562", "HepG2", "liver"],
        "strand_pair": [1, 0, 2, 3, 4],
        "my col": [1.0, 2.0, 3.0, 4.0, 5.0],
    }
)


@pytest.mark.parametrize(
    ("query", "rows"),
    [
        ("assay == 'CAGE' and sample.str.contains('K562')", [0, 1]),  # the README example
        ("assay in ['RNA', 'DNASE']", [2, 3, 4]),
        ("assay not in ('RNA', 'DNASE')", [0, 1]),
        ("assay == ['RNA', 'CAGE']", [0, 1, 4]),
        ("`my col` > 3", [3, 4]),
        ("  1 < strand_pair <= 3 ", [2, 3]),
        ("not (assay == 'RNA') and strand_pair != 0", [0, 2, 3]),
        ("(assay == 'CAGE') & ~(name.str.endswith('-'))", [0]),
        ("name.str.startswith(['CAGE', 'RNA']) | (sample == 'HepG2')", [0, 1, 3, 4]),
        ("assay.str.lower() == 'dnase'", [2, 3]),
        ("sample.str.contains('k562', case=False) and sample.str.len() > 4", [0, 1]),
        ("name.str.match('DNASE:K')", [2]),
        ("assay.isin(['RNA'])", [4]),
        ("sample == 'a@b' or assay == 'RNA'", [4]),  # '@' inside a string is just a character
    ],
)
def test_valid_queries(query: str, rows: list[int]) -> None:
    assert resolve_tasks(TASKS, query=query) == rows


@pytest.mark.parametrize(
    ("query", "token"),
    [
        ("@np.lib._npyio_impl.os.system('touch PWNED')", "'@'"),
        ("name == 'task_0' or @frame.to_csv('x.csv') == 1", "'@'"),
        ("__import__('os').system('touch PWNED')", "__import__('os').system"),
        ("assay.__class__", "'assay.__class__'"),
        ("assay.str.__class__.__init__", "'.__init__'"),
        ("name.to_csv('x.csv') == 1", "'name.to_csv'"),
        ("[c for c in name]", "ListComp"),
        ("(lambda: 1)()", "'lambda: 1'"),
        ("assay[0] == 'C'", "'assay[0]'"),
        ("2 ** 2 ** 99 == strand_pair", "'**'"),
        ("tissue == 'liver'", "'tissue'"),
        ("assay.str.contains('x', flags=2)", "'flags='"),
        ("assay.str.contains('(')", "\"'('\""),
        ("`my col", "unclosed '`'"),
        ("assay == 'CAGE' and", "the syntax"),
    ],
)
def test_refused_queries_name_the_token_and_run_nothing(
    query: str, token: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError) as err:
        resolve_tasks(TASKS, query=query, model="borzoi")
    assert err.value.exit_code == 2
    assert token in str(err.value) and "\n" not in str(err.value)
    assert "grelu models info borzoi --tasks" in str(err.value)
    assert os.listdir(tmp_path) == []  # nothing ran: no PWNED, no x.csv


@pytest.mark.parametrize("query", ["0", "1", "True", "assay", "sample.str.len()", "'x' == 'x'"])
def test_a_query_must_be_true_or_false_per_task(query: str) -> None:
    with pytest.raises(UsageError, match="true/false per task") as err:
        resolve_tasks(TASKS, query=query)
    assert err.value.exit_code == 2


def test_typo_hint_names_the_model() -> None:
    with pytest.raises(UsageError, match=r"run 'grelu models info borzoi --tasks'"):
        resolve_tasks(TASKS, names=["CAGE:K526+"], model="borzoi")
    with pytest.raises(UsageError, match=r"'grelu models info 'my model.ckpt' --tasks'"):
        resolve_tasks(TASKS, query="assay == 'ATAC'", model="my model.ckpt")


# -- fuzzing -----------------------------------------------------------------------------------

_literal = st.one_of(
    st.sampled_from(["'CAGE'", "'K562'", "'RNA'", "'x'", '"DNASE"', "''"]),
    st.integers(-5, 10).map(str),
    st.sampled_from(["True", "False", "None", "1.5", "-2"]),
)
_column = st.sampled_from(["name", "assay", "sample", "strand_pair", "`my col`"])
_cmp = st.sampled_from(["==", "!=", "<", "<=", ">", ">="])
_atom = st.one_of(
    st.builds(lambda c, o, v: f"{c} {o} {v}", _column, _cmp, _literal),
    st.builds(lambda c, v: f"{c} in [{', '.join(v)}]", _column, st.lists(_literal, max_size=3)),
    st.builds(
        lambda c, m, v: f"{c}.str.{m}({v})",
        _column,
        st.sampled_from(["contains", "startswith", "endswith", "match", "fullmatch"]),
        _literal,
    ),
    st.builds(lambda c, v: f"{c}.str.lower() == {v}", _column, _literal),
)
_bool_op = st.sampled_from(["and", "or", "&", "|"])
_query = st.recursive(
    _atom,
    lambda q: st.one_of(
        st.builds(lambda a, o, b: f"({a}) {o} ({b})", q, _bool_op, q),
        q.map(lambda a: f"not ({a})"),
        q.map(lambda a: f"~({a})"),
    ),
    max_leaves=6,
)
_fuzz = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _check(query: str) -> None:
    try:
        rows = resolve_tasks(TASKS, query=query)
    except UsageError as e:
        assert e.exit_code == 2 and "\n" not in str(e)
    else:
        assert rows is not None and all(0 <= r < len(TASKS) for r in rows)


@_fuzz
@given(_query)
def test_fuzz_grammar_queries_evaluate_or_are_usage_errors(query: str) -> None:
    _check(query)


_noise = st.one_of(
    st.text(max_size=80),
    st.lists(
        st.sampled_from(
            [
                "name",
                "assay",
                "os",
                "system",
                "__import__",
                "__class__",
                "(",
                ")",
                "[",
                "]",
                ".",
                ",",
                "'",
                '"',
                "`",
                "@",
                "==",
                "and",
                "or",
                "not",
                "in",
                "lambda",
                ":",
                "str",
                "contains",
                "1",
                "**",
                "+",
                "{",
                "}",
                "\\",
                "\n",
                " ",
                "f'",
                "=",
                "*",
            ]
        ),
        max_size=25,
    ).map("".join),
)


@_fuzz
@given(_noise)
def test_fuzz_arbitrary_text_never_runs_code(query: str) -> None:
    import builtins

    real_import = builtins.__import__
    real_open = builtins.open

    def no_import(name: str, *a: object, **k: object) -> object:
        if name in ("os", "subprocess", "shutil", "sys", "posix"):
            raise AssertionError(f"query imported {name}")
        return real_import(name, *a, **k)

    def no_open(*a: object, **k: object) -> object:
        raise AssertionError("query opened a file")

    builtins.__import__, builtins.open = no_import, no_open  # type: ignore[assignment]
    try:
        _check(query)
    finally:
        builtins.__import__, builtins.open = real_import, real_open
