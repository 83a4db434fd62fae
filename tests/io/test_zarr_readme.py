"""The README's xarray example runs on a store written by ZarrWriter."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np

from grelu_cli.core.window import Window
from grelu_cli.genome.bins import BinLayout
from grelu_cli.io.formats.zarr import ZarrWriter

README = Path(__file__).parents[2] / "README.md"


def test_readme_xarray_example_runs(tmp_path):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    (example,) = [b for b in blocks if 'xr.open_zarr("preds.zarr")' in b]
    layout = BinLayout(
        seq_len=400, bin_size=2, crop_len=0, n_out=200, pooled=False, first=0, n_keep=200
    )
    windows = [
        Window(
            i,
            i,
            f"r{i}",
            ["chr1", "chr2"][i % 2],
            400 * i,
            400 * i + 400,
            "+",
            400 * i,
            400 * i + 400,
        )
        for i in range(3)
    ]
    values = np.arange(3 * 2 * 200, dtype=np.float32).reshape(3, 2, 200)
    writer = ZarrWriter(
        tmp_path / "preds.zarr",
        ["motif_a", "motif_b"],
        windows=windows,
        bin_layout=layout,
        metadata={},
    )
    with writer:
        writer.write(layout.block(values, windows))
    check = "\nassert (track == values[:, 0, :]).all() and block.shape == (2, 100)\n"
    check += "assert chr1.sizes['window'] == 2 and starts[0] == 0\n"
    script = "import numpy as np\n"
    script += "values = np.arange(1200, dtype=np.float32).reshape(3, 2, 200)\n" + example + check
    subprocess.run([sys.executable, "-c", script], cwd=tmp_path, check=True)
