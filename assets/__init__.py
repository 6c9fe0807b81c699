"""synthpipe assets."""
