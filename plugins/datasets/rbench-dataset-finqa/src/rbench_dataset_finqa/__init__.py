"""rbench dataset plugin: FinQA numeric reasoning over financial reports, rounding-tolerant numeric match."""

__version__ = "0.1.0"
