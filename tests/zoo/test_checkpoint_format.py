"""What a file is before torch reads it: zip checkpoints load, bare pickles are refused without
being unpickled, and text, random bytes or other zips are "not a PyTorch checkpoint"."""

from __future__ import annotations

import os
import pickle
import random
import zipfile
from pathlib import Path

import pytest
import torch

from grelu_cli.errors import InputDataError, UnsafeCheckpointError
from grelu_cli.zoo.checkpoint import safe_load, sniff_checkpoint

ZOO_DATA = Path(__file__).resolve().parents[1] / "data" / "zoo"


class _Evil:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _random_bytes(path: Path, n: int = 4096, seed: int = 0) -> Path:
    rng = random.Random(seed)
    path.write_bytes(bytes(rng.randrange(256) for _ in range(n)))
    return path


@pytest.mark.parametrize(
    "content",
    [
        b"hello\n",
        b"chr1\t0\t100\n",
        b"",
        b"]]]]]]]",  # made torch's unpickler fail with IndexError: pop from empty list
        b"e\n",
    ],
)
def test_text_is_not_a_checkpoint(tmp_path, content):
    path = tmp_path / "model.ckpt"
    path.write_bytes(content)
    assert sniff_checkpoint(path) == "other"
    for trust in (False, True):
        with pytest.raises(InputDataError) as err:
            safe_load(path, trust=trust)
        assert type(err.value) is InputDataError
        assert str(err.value).startswith(f"{path} is not a PyTorch checkpoint (")


@pytest.mark.parametrize("seed", range(5))
def test_random_bytes_are_not_a_checkpoint(tmp_path, seed):
    path = _random_bytes(tmp_path / "model.ckpt", seed=seed)
    with pytest.raises(InputDataError, match="is not a PyTorch checkpoint"):
        safe_load(path)


def test_zip_without_pickle_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "model.ckpt"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("readme.txt", "not weights")
    assert sniff_checkpoint(path) == "other"
    with pytest.raises(InputDataError, match="is not a PyTorch checkpoint"):
        safe_load(path)


@pytest.mark.parametrize("legacy_torch", [False, True])
def test_bare_pickles_are_refused_unread(tmp_path, legacy_torch):
    marker = tmp_path / "pwned"
    path = tmp_path / "weights.pt"
    if legacy_torch:
        torch.save({"w": _Evil(marker)}, path, _use_new_zipfile_serialization=False)
    else:
        path.write_bytes(pickle.dumps({"w": _Evil(marker)}))
    assert sniff_checkpoint(path) == "pickle"
    with pytest.raises(UnsafeCheckpointError) as err:
        safe_load(path)
    assert str(err.value) == (
        f"{path} is a legacy/plain pickle, which grelu-cli never unpickles (re-save it with "
        "torch.save from a trusted environment or pass --trust-checkpoint)"
    )
    assert "Weights only load failed" not in str(err.value)
    assert not marker.exists()


@pytest.mark.parametrize("legacy_torch", [False, True])
def test_trusted_bare_pickles_load(tmp_path, legacy_torch):
    weights = {"w": torch.arange(4.0)}
    path = tmp_path / "weights.pt"
    if legacy_torch:
        torch.save(weights, path, _use_new_zipfile_serialization=False)
    else:
        path.write_bytes(pickle.dumps(weights))
    assert torch.equal(safe_load(path, trust=True)["w"], weights["w"])


def test_zip_checkpoints_still_load_and_truncated_ones_are_unreadable(tmp_path):
    good = ZOO_DATA / "grelu_conv_poisson.ckpt"
    assert sniff_checkpoint(good) == "zip"
    assert "state_dict" in safe_load(good)
    data = good.read_bytes()
    for cut in (len(data) // 4, len(data) // 2, len(data) - 10):
        bad = tmp_path / f"cut{cut}.ckpt"
        bad.write_bytes(data[:cut])
        with pytest.raises(InputDataError, match="cannot read checkpoint"):
            safe_load(bad)


def test_unsafe_global_in_zip_names_it_without_torch_text(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "x": _Evil(marker)}, path)
    with pytest.raises(UnsafeCheckpointError) as err:
        safe_load(path)
    assert "system" in str(err.value) and "Weights only load failed" not in str(err.value)
    assert not marker.exists()
