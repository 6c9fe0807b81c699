"""synthpipe resources."""
