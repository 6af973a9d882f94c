"""The domain: SLOs, selectors, durations, budget arithmetic, windows, burn rates, severities and
the names sloctl gives things. Pure: no I/O, no YAML, no HTTP.
"""
