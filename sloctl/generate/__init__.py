"""Generated files: Prometheus rules, their promtool tests, sloctl's own alerts and Grafana
dashboards.
"""
