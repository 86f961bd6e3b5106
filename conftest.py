"""Repository-level pytest configuration.

The dapr-chaos plugin itself is loaded through its entry point (``harness.plugin``);
this file only makes the repository root importable so that tests can import their own
helper modules (``tests.commands``, ``tests.replay.apps``) the way they run.
"""
