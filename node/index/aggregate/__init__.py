"""One index over every replica an aggregating node holds: `index.AggregateIndex`."""
