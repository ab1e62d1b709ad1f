"""Shopify plugin: translates Shopify webhooks and Admin API data into Ladder events.

Built by the Shopify plugin issue; the package exists now so the layout and the
import contracts are in place from the start.
"""
