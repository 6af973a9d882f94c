"""The Prometheus HTTP API client and the watchdog that bounds its reads."""
