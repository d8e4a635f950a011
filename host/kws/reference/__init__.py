"""The host twins of ``firmware/core``: the front end's golden vectors and test signals, the
streaming detector, the drift monitor, the reference pipeline (front end, int8 network, detector,
event for event what the device does) and the C modules themselves through ctypes (``native``)."""
