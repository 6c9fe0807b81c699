"""synthpipe benchmarks: each prints figures measured in one run."""
