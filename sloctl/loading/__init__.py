"""Files turned into domain values at the edge: safe YAML, SLO definitions, the policy file and the
daemon's configuration.
"""
