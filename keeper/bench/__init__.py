"""Benchmarks run by `keeper bench` / `make bench`: ours vs the peer, measured in the same run."""
