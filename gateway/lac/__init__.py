"""Clients for LAC: one port (``Lac``), a SOAP adapter and a REST adapter, plus the vendor API."""
