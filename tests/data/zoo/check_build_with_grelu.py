"""Check that checkpoints from ``grelu models build`` load in gReLU 1.1.0 (run by hand).

gReLU is never a dependency of grelu-cli, so this runs outside the test suite, in a scratch
virtualenv with grelu==1.1.0 and torch 2.13 (the suite checks the same structure without gReLU):

    python -m grelu_cli models build ... -o /tmp/b/NAME.ckpt     # with the project venv
    /work/scratch/ref-venv/bin/python tests/data/zoo/check_build_with_grelu.py /tmp/b/*.ckpt

For each file: ``LightningModel.load_from_checkpoint`` (Lightning's own loader, weights_only
as torch 2.13 defaults), then gReLU's forward (activation included) on a fixed one-hot input,
compared with the values stored next to the file as ``NAME.expected.pt`` by the project side
(``{"x": (N, 4, L), "y": (N, T, L_out)}``). Prints one line per file and exits 1 on failure.
"""

from __future__ import annotations

import sys
from pathlib import Path

import grelu.lightning
import torch


def main(paths: list[str]) -> int:
    torch.set_float32_matmul_precision("highest")
    failed = 0
    for p in map(Path, paths):
        try:
            model = grelu.lightning.LightningModel.load_from_checkpoint(str(p), map_location="cpu")
            model.eval()
            exp = torch.load(p.with_suffix(".expected.pt"), weights_only=True)
            with torch.no_grad():
                y = model(exp["x"])
            diff = (y - exp["y"]).abs().max().item()
            tol = 1e-5 * max(1.0, exp["y"].abs().max().item())
            names = model.data_params["tasks"]["name"]
            ok = diff <= tol and len(names) == y.shape[1]
            print(
                f"{'OK ' if ok else 'BAD'} {p.name}: {model.model_params['model_type']} "
                f"tasks={len(names)} seq_len={model.data_params['train'].get('seq_len')} "
                f"max|diff|={diff:.3g}"
            )
            failed += not ok
        except Exception as e:  # report and go on to the next file
            print(f"ERR {p.name}: {type(e).__name__}: {str(e).splitlines()[0][:200]}")
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
