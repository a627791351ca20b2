"""``python -m routerbench_core`` is ``rbench``."""

from routerbench_core.commands.app import main

main()
