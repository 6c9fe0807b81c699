"""Example agent-based models that synthpipe simulations run (`simulations:` in the configuration)."""
