"""Peak memory of a replicate ensemble: the members run one after another, so predicting with
3 replicates needs one member's activations (plus the weights), not three.

Each measurement runs in its own process (as tests/zoo/test_zip_bomb.py measures): the model
is built and warmed up on one window, the peak RSS is reset (``/proc/self/clear_refs``), then
one batch is predicted and the rise of ``VmHWM`` over the resting RSS is the prediction's
working memory. The model is chosen so that activations dominate (64 channels, 2 tasks, 1x1
convolutions: one activation tensor of the batch is 64 MiB, the weights a few KB). A control,
one model three times as wide (what running the three members at once would hold), shows that
the measurement sees three members' activations when they are alive together.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
L, N, C = 32_768, 8, 64
TENSOR = C * L * N * 4  # bytes of one (N, C, L) float32 activation: 64 MiB

CHILD = r"""
import gc, re, sys
import numpy as np
import torch
from grelu_cli.model.ensemble import ReplicateEnsemble
from grelu_cli.model.models import ConvModel
from grelu_cli.predict.loop import PredictOptions, Predictor

def status(key):
    text = open("/proc/self/status").read()
    return int(re.search(key + r":\s+(\d+)", text).group(1)) * 1024

R, L, N, C = (int(a) for a in sys.argv[1:5])
members = []
for seed in range(R):
    torch.manual_seed(seed)
    members.append(ConvModel(n_tasks=2, stem_channels=C, stem_kernel_size=1, channel_init=C,
                             n_conv=1, kernel_size=1, final_pool_func=None).eval())
model = members[0] if R == 1 else ReplicateEnsemble(members, list(range(R)))
opts = PredictOptions(device="cpu", batch_size=N, threads=1)
p = Predictor(model, seq_len=L, options=opts, activation="exp")
g = torch.Generator().manual_seed(0)

def batch(n):
    idx = torch.randint(0, 4, (n, L), generator=g)
    x = torch.nn.functional.one_hot(idx, 4).permute(0, 2, 1).float().contiguous()
    return x, np.zeros(n, bool)

for _ in p.predict([batch(1)]):  # first calls: kernels, caches, the warm-up
    pass
x = batch(N)
gc.collect()
with open("/proc/self/clear_refs", "w") as fh:
    fh.write("5")  # reset VmHWM to the current RSS
rest = status("VmRSS")
for _ in p.predict([x]):
    pass
print(status("VmHWM") - rest, sum(t.numel() * 4 for t in model.parameters()))
"""


def _working_memory(replicates: int, channels: int = C) -> tuple[int, int]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(replicates), str(L), str(N), str(channels)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    rise, weights = proc.stdout.split()
    return int(rise), int(weights)


def test_three_replicates_need_one_members_activations():
    one, _ = _working_memory(1)
    three, weights = _working_memory(3)
    wide, _ = _working_memory(1, channels=3 * C)  # three members' activations at once
    assert one > 0.8 * TENSOR  # activations dominate the measurement
    assert three < one + 3 * weights + TENSOR // 2, (one, three)
    assert wide > one + 1.5 * TENSOR, (one, wide)  # the measurement would see them
