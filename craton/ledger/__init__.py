"""Tamper evidence for the event log: hash chain, digests, signatures and evidence packs."""
