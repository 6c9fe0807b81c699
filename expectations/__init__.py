"""synthpipe expectations."""
