"""runtime: the pinned binaries (find, build or download, cached by version) and the
container images built from them."""
