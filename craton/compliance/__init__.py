"""Compliance: change windows, the access log, evidence packs and their commands."""
