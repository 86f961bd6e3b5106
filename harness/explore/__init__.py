"""explore: search fault schedules with Hypothesis and shrink a violation (strategies,
one example run, the search, profiles, the runner behind ``dapr-chaos explore``)."""
