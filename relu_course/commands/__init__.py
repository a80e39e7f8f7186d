"""The verbs of the ``relu-course`` command, one module each."""
