"""The data layer: the SQLite store (it owns all SQL), the outcome matrix, importers/exporters
and ``rbench data fetch``; ``paths`` keeps names from data out of file paths, ``text`` makes
text that is not valid UTF-8 storable without losing it.

Every stage reads and writes through :class:`~routerbench_core.data.store.Store`; the rest of the
core never sees a table or a SQL string.
"""
