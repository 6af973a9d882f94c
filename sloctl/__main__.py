"""``python -m sloctl``."""

from sloctl.cli import main

main(prog_name="sloctl")
