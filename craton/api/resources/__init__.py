"""Falcon resources: thin nouns that parse, authorise, call the ledger or a query, answer."""
