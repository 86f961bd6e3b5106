"""record: the data of a run, which every layer above writes into and checks read: the
History of workflow instances, the ledger, the timeline, recorded histories, series."""
