"""Every model architecture, as data: the one list the factory, the zoo and the tests read.

Standard library only (no torch), so the zoo can list architectures instantly. Each class
named here must exist in :mod:`grelu_cli.model.models` and have a tiny configuration in the
model tests (``tests/model/small.py``), or be one of the published, fixed-size classes checked
by ``tests/model/test_published.py``; a test fails otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Architecture:
    """One model class.

    Attributes:
        name: the class name (gReLU ``model_type``).
        summary: one line for ``grelu models list``.
        required: constructor keywords without a default, besides ``n_tasks``.
        input_bp: the input length it was published with, if fixed by design.
        published: builds the published architecture only (too large for tiny tests).
        note: what a user of a built checkpoint should know about gReLU 1.1.0 itself.
    """

    name: str
    summary: str
    required: tuple[str, ...] = ()
    input_bp: int | None = None
    published: bool = False
    note: str | None = None


ARCHITECTURES: tuple[Architecture, ...] = (
    Architecture("ConvModel", "convolutional tower + conv head"),
    Architecture("DilatedConvModel", "dilated residual convolutions (BPNet-like)"),
    Architecture("ConvGRUModel", "convolutions + bidirectional GRU"),
    Architecture("ConvTransformerModel", "convolutions + transformer layers"),
    Architecture(
        "ConvMLPModel", "convolutions + MLP over the flattened sequence", required=("seq_len",)
    ),
    Architecture(
        "ExplaiNNModel",
        "independent single-filter CNN units (ExplaiNN)",
        required=("in_len",),
        note="gReLU 1.1.0 cannot construct ExplaiNNModel (its trunk never calls "
        "nn.Module.__init__), so only grelu-cli can load these checkpoints",
    ),
    Architecture("BorzoiModel", "Borzoi architecture (random weights)", input_bp=524_288),
    Architecture(
        "BorzoiPretrainedModel",
        "published Borzoi trunk + new head (weights from a checkpoint)",
        input_bp=524_288,
        published=True,
        note="gReLU 1.1.0 downloads the Borzoi base weights from the Hub when it loads such a "
        "checkpoint; grelu-cli never does",
    ),
    Architecture("EnformerModel", "Enformer architecture (random weights)", input_bp=196_608),
    Architecture(
        "EnformerPretrainedModel",
        "published Enformer trunk + new head (weights from a checkpoint)",
        input_bp=196_608,
        published=True,
        note="gReLU 1.1.0 downloads the Enformer base weights from the Hub when it loads such "
        "a checkpoint; grelu-cli never does",
    ),
)

#: The class names, in registry order.
NAMES: tuple[str, ...] = tuple(a.name for a in ARCHITECTURES)
