"""What the always-on island holds: the budget of flash and RAM by part (estimated from the model,
measured from the linked image) and the worst-case stack from GCC's call graph."""
