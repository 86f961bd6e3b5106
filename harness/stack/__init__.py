"""stack: Valkey, placement, scheduler, daprd, Toxiproxy and the app as processes or
containers (ports, readiness, teardown, the run registry) and the supervisor that
brings a faulted stack back."""
