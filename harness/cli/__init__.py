"""The ``dapr-chaos`` command line: one module per command, each with one
``register(subcommands)``, and :mod:`harness.cli.options` for what they share with the
pytest plugin. The entry point is :func:`harness.cli.main.main`."""
