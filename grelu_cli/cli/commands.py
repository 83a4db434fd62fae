"""Attach every command group to the root app. One module per group under grelu_cli/cli/."""

from __future__ import annotations
