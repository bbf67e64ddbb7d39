"""The ``nemo`` console script (``nemo.core.cli.main:main``); each subcommand lives in its own module."""
