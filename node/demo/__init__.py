"""Synthetic Kerala records, seeding, and the two demos (one station; the 7-node federation of
`make run`). Used by the CLI, the benchmarks and the tests; never by the layers."""
