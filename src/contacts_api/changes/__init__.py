"""The change feed (contract §12)."""
