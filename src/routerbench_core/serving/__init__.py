"""Serving: fitted routers as artefacts, and ``rbench serve`` (an OpenAI-compatible endpoint).

- :mod:`~routerbench_core.serving.artefact`: the versioned artefact directory (pool, prices,
  embedder, bench fingerprint, sweep, operating points, measured metrics, router state).
- :mod:`~routerbench_core.serving.train`: fit a router for one seed, measure it on test,
  calibrate an operating point on validation, save it.
- :mod:`~routerbench_core.serving.points`: operating points named in a request's ``model``.
- :mod:`~routerbench_core.serving.config`: the serve config (backends per pool model, keys,
  budgets, limits).
- :mod:`~routerbench_core.serving.server`: the aiohttp server.

Serving is the last stage: it may import every earlier one; nothing imports it.
"""
