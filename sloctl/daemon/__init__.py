"""``sloctl run``: the loop, the incident cycle, the exported metrics and the HTTP endpoint."""
