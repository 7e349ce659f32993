"""The ground floor: generic infrastructure with no domain (row and named locks, the
Redis helpers, refusals, and the few small rules several apps share)."""
