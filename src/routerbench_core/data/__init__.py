"""The data layer: the SQLite store (it owns all SQL), the outcome matrix, importers/exporters
and ``rbench data fetch``.

Every stage reads and writes through :class:`~routerbench_core.data.store.Store`; the rest of the
core never sees a table or a SQL string.
"""
