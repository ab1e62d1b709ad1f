"""WooCommerce plugin: translates WooCommerce webhooks and REST data into Ladder events.

Built by the WooCommerce plugin issue; the package exists now so the layout and the
import contracts are in place from the start.
"""
