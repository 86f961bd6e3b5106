"""Reference apps: systems under test shipped with the harness (run as processes, never
imported by it); they use only the app-side API, :mod:`harness.app`."""
