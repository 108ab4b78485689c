"""The fault-injection suite of issue 18: `pytest tests/faults/`."""
