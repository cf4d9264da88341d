"""Clients for LAC: one port (``Lac``), a SOAP adapter and a REST adapter, plus the vendor API.

- ``base``: the port, result types and exception tree.
- ``soap_ops``: every SOAP operation and field name. ``GetLicense`` is inferred from LAC's
  documentation; aligning with the live WSDL is a change to its line there (and the shipped WSDL).
- ``soap_codec``: zeep, confined: envelopes built and replies parsed, never a socket.
- ``http``: the one place requests are sent (timeouts, TLS, concurrency cap, error mapping).
- ``soap`` / ``rest`` / ``vendor``: the end-user SOAP v2, end-user REST v2 and vendor SOAP v4
  clients; ``resilience``: retries, retry budget and circuit breaker around a ``Lac``.
- ``factory``: ``create_lac`` by ``settings.transport`` and the WSDL loaders.
"""
