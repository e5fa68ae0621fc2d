"""The ``minecarbon`` command-line tool: thin commands over library functions."""
