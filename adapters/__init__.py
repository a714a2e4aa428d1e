"""Restorer adapters, shipped as ``rescap.adapters``.

Each adapter declares how one restorer takes text (prompt slots, defaults, join rule and token
budget) and builds the exact strings it will see.
"""
