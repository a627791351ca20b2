"""Stage 1, collect: run configs, the backend interface and the cached, resumable collector
that asks every model every query and stores the responses."""
