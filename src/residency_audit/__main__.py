"""``python -m residency_audit``: the same as the ``residency-audit`` command."""

from residency_audit.cli import entry_point

entry_point()
