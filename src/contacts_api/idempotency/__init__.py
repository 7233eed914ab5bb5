"""Retry-safe writes (contract §11)."""
