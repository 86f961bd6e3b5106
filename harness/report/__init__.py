"""Chaos scenario reports: ``journal.json`` (the record), ``junit.xml`` (for CI test
tabs) and ``index.html`` (for people), written into ``reports/<timestamp>-<name>/``."""
