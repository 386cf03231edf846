"""``jupyter lease …``: status, extend, doctor, watch, simulate, demo, keep-alive."""
