"""``python -m routerbench_core`` is ``rbench``."""

from routerbench_core.commands.entry import main

main()
