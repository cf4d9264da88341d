"""The built-in demo seed: the same data as ``config/sandbox.toml``, for installs without it."""

DEMO_SEED_TOML = """\
# Seed data of the LAC sandbox (`python -m gateway sandbox --seed config/sandbox.toml`).
# Orders, the vendor login and start-up faults; lacsandbox/README.md describes every field.
# The same data is built into the package for installs without this file.

[sandbox]
token_ttl = 10800              # vendor token lifetime in seconds (LAC: 3 hours)
vendor_requires_https = false  # true: vendor SOAP over plain HTTP answers code 40, as LAC does

[vendor]
username = "demo"
password = "demo"
one_time_activations_left_count = 500
one_time_activations_expiration_date = 2027-12-31

[[vendor.subscriptions]]
start_date = 2026-01-01
expiration_date = 2027-01-01
next_reset_date = 2026-12-01
activations_left_count = 1000
default_count = 1000

# A normal single-host order: one activation, any HostID type.
[[orders]]
activation_key = "SNGLE-HOST1-DEMO0-00001"
product_name = "Demo Product"
product_version = "2.1"
customer_name = "Acme Engineering"
[[orders.features]]
name = "demo-feature"
version = "2.1"
end = 2027-12-31
maintenance_end = 2027-06-30

# A bulk order: five HostID sets may hold a license at the same time.
[[orders]]
activation_key = "BULK5-SEATS-DEMO0-00002"
bulk_max = 5
customer_name = "Acme Build Farm"

# A bulk order large enough for benchmarks.
[[orders]]
activation_key = "BENCH-BULKX-DEMO0-00003"
bulk_max = 100000
customer_name = "Benchmark"

# A disabled order: every call answers 202 (REST 403).
[[orders]]
activation_key = "DSBLD-ORDER-DEMO0-00004"
enabled = false

# A HostID policy: Ethernet only, one or two addresses.
[[orders]]
activation_key = "ETHER-POLCY-DEMO0-00005"
hostid_types = ["ETHERNET"]
min_hostids = 1
max_hostids = 2
bulk_max = 3

# Not HostID-locked: activated once, with hostid "not_specified" (another HostID: 203).
[[orders]]
activation_key = "NOTLK-ORDER-DEMO0-00006"
not_locked = true

# Generation takes 2 seconds: GetLicense answers 1 (please wait) meanwhile.
[[orders]]
activation_key = "DELAY-2SECS-DEMO0-00007"
generation_delay = 2.0
bulk_max = 10

# The license generator fails: the request is accepted, GetLicense then answers 400.
[[orders]]
activation_key = "GENFL-ORDER-DEMO0-00008"
generator_failure = "license generator exited with status 1: feature template is invalid"

# No license generator uploaded for the product: 401 (REST 403, code 1709).
[[orders]]
activation_key = "NOGEN-ORDER-DEMO0-00009"
generator_uploaded = false

# The vendor asked for the license to be removed from the host.
[[orders]]
activation_key = "RMVAL-ORDER-DEMO0-00010"
removal = true
bulk_max = 2

# End users may deactivate once (then 111 until the vendor resets the counter).
[[orders]]
activation_key = "DEACT-ONCE0-DEMO0-00011"
deactivations_allowed = 1

# An order LAC cannot issue against (not locked yet several activations): 60.
[[orders]]
activation_key = "BADCF-ORDER-DEMO0-00012"
not_locked = true
bulk_max = 3

# Faults active from the start, e.g.:
# [[faults]]
# kind = "latency"        # latency | code | http_error | drop | malformed | token_expiry
# transport = "soap"      # soap | rest | *
# operation = "GetLicense"
# latency = 0.2
"""
