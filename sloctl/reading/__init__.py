"""Budgets read from Prometheus at pinned times and judged by the core arithmetic."""
