"""PromQL: the one builder, the planner that folds many SLOs into few queries, and window
slicing.
"""
