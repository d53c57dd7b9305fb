"""IVR flows: pure state machines (outbound, inbound) and the async runner that plays them."""
