"""rbench dataset plugin ``swe-bench``: SWE-bench Verified: imports the official harness's per-instance resolved results."""
