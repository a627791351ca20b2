"""The embedded SYNTHETIC demo benchmark, calibrated to the LLMRouterBench paper tables:
``generate`` draws the bench, ``tables`` holds the published figures, ``text`` the query texts."""
