"""The ``sloctl`` command line."""
