"""Webhooks: signed notifications (Standard Webhooks) of what the gateway did, to the vendor.

``events`` builds the outbox entries the store's scripts write with the change they report;
``delivery`` sends one signed attempt; ``worker`` turns outbox entries into deliveries and
drives them to delivered or dead-lettered, on every replica.
"""
