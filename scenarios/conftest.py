"""`pytest scenarios/` runs the shipped scenario set. The reproductions of upstream bugs
in upstream-findings/ are expected to fail; run them on purpose with
`dapr-chaos run scenarios/upstream-findings`."""

collect_ignore = ["upstream-findings"]
