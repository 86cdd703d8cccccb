"""residency-audit."""
