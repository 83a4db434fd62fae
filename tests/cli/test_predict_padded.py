"""The parquet ``padded`` column and the run summary for windows off a chromosome end (a
window wholly off is refused: tests/genome/test_no_base_windows.py)."""

from __future__ import annotations

import numpy as np

from tests.cli.predict_helpers import SEQ_LEN, Env, invoke, read_parquet


def test_padded_is_capped_at_the_window_width(tmp_path) -> None:
    env = Env(tmp_path)
    # chrB is 1,500 bp. "near" runs off the end by half a window.
    bed = env.bed("off.bed", [("chrB", 1_400, 1_500, "near")])
    out = env.out("o") / "p.parquet"
    result = invoke("predict", "-m", env.model, "--bed", bed, "--genome", env.genome, "-o", out)
    assert result.exit_code == 0, result.output
    table, _ = read_parquet(out)
    padded = dict(zip(table["name"], table["padded"], strict=False))
    assert padded["near"] == 1_450 + SEQ_LEN // 2 - 1_500
    assert np.all(table["padded"].to_numpy() <= SEQ_LEN)
    assert f"{padded['near']:,} bases" in result.output.replace("\n", " ")
