"""The runbook's policy, its conditions, the incident lifecycle, the engine, signals, backtest and
post-mortems.
"""
