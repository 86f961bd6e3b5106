"""Repository-level pytest configuration.

The dapr-chaos plugin itself is loaded through its entry point (``harness.plugin``);
this file only makes the repository root importable so tests can import the reference
app (``scenarios.order_app``) the way the stack runs it.
"""
