"""checks: pure functions of a History, each returning a verdict with its evidence."""
