"""Stage 0, the plugin system: hookspecs, the plugin manager and the light specs plugins register.

Everything else in rbench (built-ins included) reaches datasets, backends, routers, embedders and
importers through the registry built here, so this package imports nothing of the pipeline.
"""
