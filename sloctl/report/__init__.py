"""``sloctl report``: the error-budget table and its renderers."""
