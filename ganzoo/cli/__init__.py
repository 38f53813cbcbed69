"""The ``ganzoo`` command line: one module per command."""
