"""Workflow-test fixtures (defined in wf_helpers so test modules can import its helpers)."""

from tests.workflow.wf_helpers import unsharded, ws

__all__ = ["unsharded", "ws"]
