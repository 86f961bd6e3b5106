"""faults: the nemesis (process faults, network toxics, failpoints, schedules) and the
injection of faults into a running stack."""
