"""Published Borzoi and Enformer architectures: built (on the meta device), never run, never
downloaded. Parameter counts are those of gReLU 1.1.0's pretrained classes."""

from __future__ import annotations

import sys

import pytest
import torch

from grelu_cli.model import models as M

BORZOI_PARAMS = 185_892_699  # 7611 human tracks
ENFORMER_PARAMS = 246_172_353  # 5313 human tracks


def _n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_borzoi_published_architecture() -> None:
    model = M.BorzoiPretrainedModel(n_tasks=7611, crop_len=16, final_pool_func=None, device="meta")
    assert _n_params(model) == BORZOI_PARAMS
    assert len(model.embedding.transformer_tower.blocks) == 8
    assert len(model.state_dict()) == 215
    geometry = model.geometry()
    assert (geometry.bin_size, geometry.crop_len, geometry.default_len) == (32, 16, 524_288)
    assert geometry.out_len(524_288) == 16_352
    geometry.check_len(524_288)


def test_enformer_published_architecture() -> None:
    model = M.EnformerPretrainedModel(
        n_tasks=5313, crop_len=320, final_pool_func=None, device="meta"
    )
    assert _n_params(model) == ENFORMER_PARAMS
    assert len(model.embedding.transformer_tower.blocks) == 11
    assert len(model.state_dict()) == 285
    geometry = model.geometry()
    assert (geometry.bin_size, geometry.crop_len, geometry.default_len) == (128, 320, 196_608)
    assert geometry.out_len(196_608) == 896


def test_base_classes_with_default_arguments_match_the_published_trunks() -> None:
    with torch.device("meta"):
        borzoi = M.BorzoiModel(n_tasks=7611)
        enformer = M.EnformerModel(n_tasks=5313)
    assert _n_params(borzoi) == BORZOI_PARAMS
    assert _n_params(enformer) == ENFORMER_PARAMS
    assert borzoi.geometry().crop_len == 16 and borzoi.geometry().pooled  # gReLU defaults


def test_pretrained_options() -> None:
    with torch.device("meta"):
        short = M.BorzoiPretrainedModel(n_tasks=10, n_transformers=4, fold=3)
        enformer = M.EnformerPretrainedModel(n_tasks=10, n_transformers=6, dtype=torch.bfloat16)
    assert len(short.embedding.transformer_tower.blocks) == 4
    assert short.head.n_tasks == 10 and short.geometry().pooled
    assert len(enformer.embedding.transformer_tower.blocks) == 6
    assert {p.dtype for p in enformer.parameters()} == {torch.bfloat16}


def test_pretrained_constructors_touch_neither_disk_nor_network() -> None:
    def build() -> None:
        with torch.device("meta"):
            M.BorzoiPretrainedModel(n_tasks=7611)
            M.EnformerPretrainedModel(n_tasks=5313)

    build()  # first build: any lazy imports happen here, not under the hook
    events: list[tuple[str, object]] = []
    watching = [True]

    def hook(event: str, args: tuple) -> None:
        if watching[0] and (
            event in ("open", "os.listdir", "os.scandir", "shutil.copyfile")
            or event.startswith(("socket.", "urllib.", "http."))
        ):
            events.append((event, args[0] if args else None))

    sys.addaudithook(hook)  # hooks cannot be removed; this one switches itself off below
    try:
        build()
    finally:
        watching[0] = False
    assert events == []


@pytest.mark.parametrize("cls", [M.BorzoiPretrainedModel, M.EnformerPretrainedModel])
def test_pretrained_select_tasks(cls: type) -> None:
    with torch.device("meta"):
        model = cls(n_tasks=20)
    model.select_tasks([19, 3])
    weight = model.head.channel_transform.conv.layer.weight
    assert weight.shape[0] == 2 and model.n_tasks == 2


#: The published, fixed-size classes and the test that checks each (read by test_models.py).
PUBLISHED = {
    "BorzoiPretrainedModel": test_borzoi_published_architecture,
    "EnformerPretrainedModel": test_enformer_published_architecture,
}
