"""The prediction loop against direct model calls at exact genomic coordinates.

The oracle model (``BinConv``) computes each output bin from that bin's bases only, so the
expected value of an output column is the model applied to the genome bases between the
column's ``bin_start`` and ``bin_end`` (reverse-complemented for '-' windows): a check of the
coordinates and the orientation that does not reuse the predictor's index arithmetic.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from grelu_cli.errors import InputDataError, UsageError
from grelu_cli.predict.loop import PredictOptions, Predictor
from tests.predict.predict_testkit import (
    BinConv,
    NoSelect,
    PerWindow,
    make_windows,
    random_genome,
    revcomp,
)

GENOME = random_genome(4000, seed=1)
L = 64


def run(model, x, wins, **kw) -> tuple[Predictor, np.ndarray, list]:
    activation = kw.pop("activation", "exp")
    tasks = kw.pop("tasks", None)
    selected = kw.pop("selected", None)
    opts = PredictOptions(device="cpu", **kw)
    p = Predictor(
        model, seq_len=L, options=opts, activation=activation, tasks=tasks, selected=selected
    )
    blocks = list(p.blocks([(x, wins)]))
    assert len(blocks) == 1
    return p, blocks[0].values, blocks


def expected_bin(model: BinConv, strand: str, a: int, b: int) -> torch.Tensor:
    seq = GENOME[a:b]
    return torch.exp(model.bin_value(revcomp(seq) if strand == "-" else seq))


@pytest.mark.parametrize("crop", [0, 2])
def test_plus_and_minus_windows_at_exact_coordinates(crop: int) -> None:
    model = BinConv(n_tasks=3, bin_size=4, crop_len=crop)
    starts, strands = [100, 333, 1201, 2047], ["+", "-", "-", "+"]
    x, wins = make_windows(GENOME, starts, L, strands)
    _, values, blocks = run(model, x, wins, batch_size=3)
    block = blocks[0]
    assert values.shape == (4, 3, L // 4 - 2 * crop)
    for i, w in enumerate(wins):
        for j in range(values.shape[-1]):
            a, b = int(block.bin_start[i, j]), int(block.bin_end[i, j])
            assert b - a == 4 and a == w.window_start + (crop + j) * 4
            torch.testing.assert_close(
                torch.from_numpy(values[i, :, j]),
                expected_bin(model, w.strand, a, b),
                rtol=1e-5,
                atol=1e-6,
            )


def test_pooled_head_uses_the_window_it_was_given() -> None:
    model = BinConv(n_tasks=2, bin_size=4, crop_len=1, pooled=True)
    x, wins = make_windows(GENOME, [10, 500], L, ["+", "-"])
    _, values, blocks = run(model, x, wins)
    assert values.shape == (2, 2, 1)
    for i, w in enumerate(wins):
        a, b = int(blocks[0].bin_start[i, 0]), int(blocks[0].bin_end[i, 0])
        assert (a, b) == (w.window_start + 4, w.window_end - 4)
        with torch.no_grad():
            raw = torch.stack([model.bin_value(s) for s in _bins(GENOME[a:b], w.strand)])
        torch.testing.assert_close(torch.from_numpy(values[i, :, 0]), torch.exp(raw.mean(0)))


def _bins(seq: str, strand: str) -> list[str]:
    seq = revcomp(seq) if strand == "-" else seq
    return [seq[k : k + 4] for k in range(0, len(seq), 4)]


@pytest.mark.parametrize(("k", "agg"), [(5, None), (4, None), (5, "max"), (None, "sum")])
def test_bins_and_aggregate_in_genome_orientation(k, agg) -> None:
    model = BinConv(n_tasks=2, bin_size=4)
    x, wins = make_windows(GENOME, [40, 900, 1700], L, ["-", "+", "-"])
    _, full, _ = run(model, x, wins)
    _, values, blocks = run(model, x, wins, center_bins=k, aggregate=agg)
    first = (16 - k) // 2 if k else 0
    kept = full[..., first : first + (k or 16)]
    ref = {None: kept, "max": kept.max(-1, keepdims=True), "sum": kept.sum(-1, keepdims=True)}
    np.testing.assert_allclose(values, ref[agg], rtol=1e-6)
    if agg:
        np.testing.assert_array_equal(
            blocks[0].bin_start[:, 0], [w.window_start + 4 * first for w in wins]
        )


def test_input_length_must_be_a_multiple_of_the_bin_size() -> None:
    with pytest.raises(UsageError, match="not a multiple"):
        Predictor(BinConv(bin_size=4), seq_len=66, options=PredictOptions(device="cpu"))


def test_rc_and_shifts_average_every_copy_like_grelu() -> None:
    """Expected values built by hand: copies k = 0..2s of the flanked input, each also
    reverse-complemented, model + exp, rc outputs flipped back, mean over the copies."""
    model = BinConv(n_tasks=3, bin_size=4)
    s = 2
    x, wins = make_windows(GENOME, [300, 811], L, ["+", "-"], flank=s)
    _, values, _ = run(model, x, wins, rc=True, shifts=s, batch_size=1)
    with torch.no_grad():
        for i, w in enumerate(wins):
            copies = []
            for rc in (False, True):
                for k in range(2 * s + 1):
                    xi = x[i : i + 1, :, k : k + L]
                    y = torch.exp(model(xi.flip((1, 2)) if rc else xi))[0]
                    copies.append(y.flip(-1) if rc else y)
            ref = torch.stack(copies).mean(0)
            ref = ref.flip(-1) if w.strand == "-" else ref
            torch.testing.assert_close(torch.from_numpy(values[i]), ref, rtol=1e-6, atol=1e-7)


def test_inputs_without_the_flank_are_refused() -> None:
    x, wins = make_windows(GENOME, [300], L, ["+"])
    p = Predictor(BinConv(), seq_len=L, options=PredictOptions(device="cpu", shifts=1))
    assert p.flank == 1
    with pytest.raises(InputDataError, match=r"\(N, 4, 66\)"):
        list(p.predict([(x, wins)]))


def stranded_tasks() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "name": ["cage+", "cage-", "dnase", "rna+", "rna-"],
            "strand_pair": [1, 0, 2, 4, 3],
            "assay": ["CAGE", "CAGE", "DNASE", "RNA", "RNA"],
        }
    )


def test_rc_swaps_strand_pairs_before_averaging() -> None:
    model = BinConv(n_tasks=5, bin_size=4)
    tasks = stranded_tasks()
    x, wins = make_windows(GENOME, [123, 2000], L, ["+", "-"])
    _, values, _ = run(model, x, wins, rc=True, tasks=tasks)
    pair = tasks["strand_pair"].tolist()
    with torch.no_grad():
        for i, w in enumerate(wins):
            fwd = torch.exp(model(x[i : i + 1]))[0]
            rev = torch.exp(model(x[i : i + 1].flip((1, 2))))[0].flip(-1)[pair]
            ref = (fwd + rev) / 2
            ref = ref.flip(-1) if w.strand == "-" else ref
            torch.testing.assert_close(torch.from_numpy(values[i]), ref, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("selectable", [True, False])
def test_selection_with_rc_computes_partners_then_drops_them(selectable: bool) -> None:
    tasks = stranded_tasks()
    x, wins = make_windows(GENOME, [50, 1500, 3000], L, ["+", "-", "+"])
    _, full, _ = run(BinConv(n_tasks=5), x, wins, rc=True, tasks=tasks)
    model = BinConv(n_tasks=5)
    model = model if selectable else NoSelect(model)
    p, values, _ = run(model, x, wins, rc=True, tasks=tasks, selected=[4, 2])
    assert p.task_names == ["rna-", "dnase"]
    assert p.plan is not None and p.plan.computed == (4, 2, 3)
    assert p.plan.use_select_tasks is selectable
    if selectable:
        assert model.head.out_channels == 3  # fewer channels computed
    np.testing.assert_allclose(values, full[:, [4, 2]], rtol=1e-6, atol=1e-7)


def test_softmax_is_taken_over_all_tasks_before_selecting() -> None:
    x, wins = make_windows(GENOME, [10, 20], L, ["+", "-"])
    model = BinConv(n_tasks=4)
    with torch.no_grad():
        ref = torch.softmax(model(x), dim=1)[:, [2, 0]]
    ref[1] = ref[1].flip(-1)
    p, values, _ = run(
        model,
        x,
        wins,
        activation="softmax",
        selected=[2, 0],
        tasks=pd.DataFrame({"name": list("abcd")}),
    )
    assert p.plan is not None and not p.plan.use_select_tasks
    torch.testing.assert_close(torch.from_numpy(values), ref)


def test_logits_skip_the_activation() -> None:
    model = BinConv(n_tasks=2)
    x, wins = make_windows(GENOME, [10], L, ["+"])
    _, values, _ = run(model, x, wins, logits=True)
    with torch.no_grad():
        torch.testing.assert_close(torch.from_numpy(values), model(x))
    with pytest.raises(UsageError, match="--untransform and --logits"):
        Predictor(
            model, seq_len=L, options=PredictOptions(device="cpu", logits=True, untransform=True)
        )


@pytest.mark.parametrize("augment", [{}, {"rc": True, "shifts": 1}])
def test_batch_size_never_changes_values(augment: dict) -> None:
    """With a batch-invariant model the loop is bitwise batch-invariant (1 vs 8 vs 64)."""
    starts = list(range(100, 100 + 37 * 70, 70))
    strands = ["+-"[i % 3 == 0] for i in range(len(starts))]
    x, wins = make_windows(GENOME, starts, L, strands, flank=augment.get("shifts", 0))
    tasks = stranded_tasks()
    outs = []
    for bs in (1, 8, 64):
        model = PerWindow(BinConv(n_tasks=5))
        p = Predictor(
            model,
            seq_len=L,
            tasks=tasks,
            activation="exp",
            options=PredictOptions(device="cpu", batch_size=bs, **augment),
        )
        # Also split the input into uneven loader batches.
        batches = [(x[i : i + 5], wins[i : i + 5]) for i in range(0, len(wins), 5)]
        outs.append(np.concatenate([v for v, _ in p.predict(batches)]))
    np.testing.assert_array_equal(outs[0], outs[1])
    np.testing.assert_array_equal(outs[0], outs[2])


def test_uint8_inputs_give_the_same_values() -> None:
    x, wins = make_windows(GENOME, [10, 700], L, ["+", "-"])
    model = BinConv()
    _, a, _ = run(model, x, wins)
    _, b, _ = run(model, x.to(torch.uint8), wins)
    np.testing.assert_array_equal(a, b)


def test_outputs_stream_one_result_per_batch_in_order() -> None:
    x, wins = make_windows(GENOME, list(range(0, 1000, 100)), L, ["+"] * 10)
    p = Predictor(BinConv(), seq_len=L, options=PredictOptions(device="cpu", batch_size=4))
    seen = []

    def batches():
        for i in range(0, 10, 3):
            seen.append(i)
            yield x[i : i + 3], wins[i : i + 3]

    it = p.predict(batches())
    first_values, first_windows = next(it)
    assert [w.index for w in first_windows] == [0, 1, 2] and first_values.shape[0] == 3
    assert seen == [0]  # on the CPU each batch is handed out as soon as it is done
    rest = [w.index for _, ws in it for w in ws]
    assert rest == list(range(3, 10))


def test_empty_batch() -> None:
    p = Predictor(BinConv(n_tasks=3), seq_len=L, options=PredictOptions(device="cpu"))
    values, windows = next(p.predict([(torch.zeros(0, 4, L), [])]))
    assert values.shape == (0, 3, 16) and windows == []


def test_tasks_table_must_match_the_model() -> None:
    with pytest.raises(InputDataError, match="outputs 3 tasks but its tasks table has 5"):
        Predictor(
            BinConv(n_tasks=3),
            seq_len=L,
            options=PredictOptions(device="cpu"),
            tasks=stranded_tasks(),
        )


def test_model_is_left_in_eval_mode_and_inference_mode_does_not_leak() -> None:
    model = BinConv()
    model.train()
    x, wins = make_windows(GENOME, [10], L, ["+"])
    p = Predictor(model, seq_len=L, options=PredictOptions(device="cpu"))
    assert not p.model.training
    for _ in p.predict([(x, wins)]):
        assert not torch.is_inference_mode_enabled()


def test_untransform_per_copy_with_each_channels_own_parameters() -> None:
    """Order: activation -> untransform (channel k with track k's scale) -> rc swap -> mean."""
    tasks = stranded_tasks().assign(
        scale=[0.3, 0.5, 1.0, 0.01, 0.02],
        clip_soft=[1.0, 1.2, 384.0, 0.9, 1.1],
        sum_stat=["sum_sqrt", "sum", "sum", "sum_sqrt", "sum_sqrt"],
    )
    model = BinConv(n_tasks=5)
    x, wins = make_windows(GENOME, [77, 1800], L, ["+", "-"])
    _, values, _ = run(model, x, wins, rc=True, tasks=tasks, untransform=True, selected=[1, 3])
    model = BinConv(n_tasks=5)  # the predictor restricted the first one's head
    scale = torch.tensor(tasks["scale"].tolist())[:, None]
    cs = torch.tensor(tasks["clip_soft"].tolist())[:, None]
    power = torch.tensor(["sqrt" in s for s in tasks["sum_stat"]])[:, None]

    def untransform(y: torch.Tensor) -> torch.Tensor:
        y = y / scale
        y = torch.where(y > cs, cs + (y - cs) ** 2, y)
        return torch.where(power, y ** (4 / 3), y)

    pair = tasks["strand_pair"].tolist()
    with torch.no_grad():
        for i, w in enumerate(wins):
            fwd = untransform(torch.exp(model(x[i : i + 1]))[0])
            rev = untransform(torch.exp(model(x[i : i + 1].flip((1, 2))))[0]).flip(-1)[pair]
            ref = ((fwd + rev) / 2)[[1, 3]]
            ref = ref.flip(-1) if w.strand == "-" else ref
            torch.testing.assert_close(torch.from_numpy(values[i]), ref, rtol=1e-5, atol=1e-6)
