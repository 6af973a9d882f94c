"""Where the tests find the project's own files."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
"""The checkout: slo-definitions/, deploy/, sloctl/ and the generated files are under it."""
