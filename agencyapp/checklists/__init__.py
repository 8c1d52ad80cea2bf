"""Checklist data files, their loader/validator and the condition rules."""

from pathlib import Path

DATA_DIR = Path(__file__).parent / "data"
