"""Helpers for testing rescap and its plugins: tiny random-weight models of real architectures."""
