"""``sloctl run``: the loop and its cycles, the incident pass, the exported metrics and the
HTTP endpoint."""
