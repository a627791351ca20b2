"""rbench core: plugin system, data model, outcome store, routing protocol and CLI.

Import cost matters here: this module and everything ``rbench list`` touches import only the
standard library, pluggy and typer. Heavy libraries are imported inside the functions that
need them.
"""

from routerbench_core.hookspecs import hookimpl

__version__ = "0.1.0"

__all__ = ["__version__", "hookimpl"]
