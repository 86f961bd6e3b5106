"""experiment: composes the parts into runs: the Chaos facade, one schedule interpreter,
observing a run into a History, load runs, the online determinism check."""
