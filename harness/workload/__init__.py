"""workload: what starts workflow instances and reads them back (the Workload protocol;
the order HTTP API; the Locust workload)."""
