"""Evaluation: scoring rules (FA/hr, FRR, latency), DET curves, threshold calibration."""
