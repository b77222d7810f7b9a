"""Bench-only Django app: the 4-step journey the naive way (one django-q2 task per step).

Installed only by bench/naive_settings.py; never part of the product.
"""
