"""``python -m routerbench_core`` is ``rbench``."""

from routerbench_core.cli import main

main()
