"""rbench dataset plugin ``tau2-bench``: tau2-bench (airline, retail, telecom): imports tau2 run results (per-simulation reward)."""
