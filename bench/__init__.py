"""The load harness behind ``make bench``: processes, load generators, scenarios, report."""
