"""Notifications: what is sent to Slack, PagerDuty and Alertmanager, and the outbox that delivers
it.
"""
