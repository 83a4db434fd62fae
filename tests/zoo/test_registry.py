"""The registry: published facts, one entry per architecture, lookup and glob listing."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from grelu_cli.errors import UsageError
from grelu_cli.zoo import registry
from grelu_cli.zoo.factory import ARCHITECTURES, constructor_params, model_class

PRETRAINED = [r for r in registry.REGISTRY.values() if r.kind == registry.PRETRAINED]
ARCH = [r for r in registry.REGISTRY.values() if r.kind == registry.ARCHITECTURE]


def test_published_borzoi_facts():
    rec = registry.get_record("borzoi")
    assert rec.repo_id == "Genentech/borzoi-model"
    assert (rec.input_bp, rec.bin_size, rec.crop_bins, rec.output_bins) == (524_288, 32, 5120, 6144)
    # the output window: 524,288 / 32 = 16,384 bins, minus 5,120 cropped at each end
    assert rec.input_bp // rec.bin_size - 2 * rec.crop_bins == rec.output_bins
    assert rec.n_tasks == 7611
    assert rec.weights_file().filename == "human_rep0.ckpt"
    assert rec.weights_file("mouse", 3).filename == "mouse_rep3.ckpt"
    assert rec.weights_file("mouse").n_tasks == 2608
    assert rec.replicates == (0, 1, 2, 3) and rec.species == ("human", "mouse")


def test_published_enformer_facts():
    rec = registry.get_record("enformer")
    assert rec.repo_id == "Genentech/enformer-model"
    assert (rec.input_bp, rec.bin_size, rec.crop_bins, rec.output_bins) == (196_608, 128, 320, 896)
    assert rec.input_bp // rec.bin_size - 2 * rec.crop_bins == rec.output_bins
    assert rec.n_tasks == 5313
    assert [f.filename for f in rec.files] == ["human.ckpt", "mouse.ckpt"]


def test_issue_zoo_entries_present():
    for name in (
        "borzoi",
        "enformer",
        "human-atac-catlas",
        "human-chromhmm-fullstack",
        "GM12878_dnase",
        "human-mpra-gosai-2024",
        "decima",
    ):
        assert registry.find_record(name) is not None, name
    assert registry.get_record("human-atac-catlas").weights_file().filename == "model.ckpt"


@pytest.mark.parametrize("rec", PRETRAINED, ids=lambda r: r.name)
def test_pretrained_records_are_well_formed(rec):
    assert rec.repo_id and re.fullmatch(r"Genentech/[\w.-]+-model", rec.repo_id)
    assert rec.files and rec.license and rec.citation and rec.url
    assert rec.revision is None or re.fullmatch(r"[0-9a-f]{40}", rec.revision)
    keys = [(f.species, f.replicate) for f in rec.files]
    assert len(keys) == len(set(keys))
    if rec.architecture is not None:
        assert rec.architecture in ARCHITECTURES


def test_one_architecture_entry_per_model_class():
    assert sorted(r.name for r in ARCH) == sorted(ARCHITECTURES)


@pytest.mark.parametrize("rec", ARCH, ids=lambda r: r.name)
def test_architecture_entries_resolve_to_model_classes(rec):
    cls = model_class(rec.name)
    params = constructor_params(cls)
    assert set(rec.required_params) <= set(params)
    required = {n for n, p in params.items() if p.default is p.empty}
    assert required <= set(rec.required_params)


def test_lookup_is_case_insensitive_and_accepts_repo_ids():
    assert registry.get_record("BORZOI").name == "borzoi"
    assert registry.get_record("Genentech/enformer-model").name == "enformer"
    assert registry.get_record("convmodel").name == "ConvModel"


def test_unknown_name_suggests_close_names():
    with pytest.raises(UsageError, match="borzoi"):
        registry.get_record("borzio")


def test_list_models_glob_and_substring():
    names = {r.name for r in registry.list_models("*borzoi*")}
    assert names == {"borzoi", "BorzoiModel", "BorzoiPretrainedModel"}
    assert {r.name for r in registry.list_models("enformer", kind="pretrained")} == {"enformer"}
    assert [r.name for r in registry.list_models("Genentech/human-atac*")] == ["human-atac-catlas"]
    assert registry.list_models("nothing-like-this") == []
    assert len(registry.list_models()) == len(registry.REGISTRY)


def test_weights_file_errors_name_the_choices():
    rec = registry.get_record("enformer")
    with pytest.raises(UsageError, match="human, mouse"):
        rec.weights_file("zebrafish")
    with pytest.raises(UsageError, match="replicate"):
        rec.weights_file("human", 2)


def test_registry_import_does_not_import_torch():
    code = (
        "import sys\n"
        "import grelu_cli.zoo, grelu_cli.zoo.registry, grelu_cli.zoo.hub, grelu_cli.zoo.source\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
        "assert 'huggingface_hub' not in sys.modules, 'huggingface_hub imported'\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
