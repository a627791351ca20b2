"""The ``rbench`` command line. Commands are thin: parse options, call a pipeline stage, print.

Each module registers its commands through the ``register_commands`` hook, as a third-party
plugin would.
"""
