"""The app service: per-role state, commands, a worker for slow calls, the scheduler."""
