"""The query index: a SQL projection of a log, rebuilt from the log at will, and every read
query of the node (search, lookups, listings, reports, what the public may see). It decides
nothing about validity and never writes to the ledger."""
