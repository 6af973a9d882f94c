"""``python -m sloctl``."""

from sloctl.cli.main import main

main(prog_name="sloctl")
