"""The demo: synthetic history with exact truth, a loopback Prometheus, simulated services and the
live outage.
"""
