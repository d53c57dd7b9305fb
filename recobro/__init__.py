"""Recobro: contact-center telephony for early-delinquency debt collection.

The kernel. It depends on none of the subsystems (dialer, acd, ivr, agent_desktop_api).
"""

__version__ = "0.1.0"
