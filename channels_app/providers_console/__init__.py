"""Channels settings: provider accounts (encrypted credentials), routing, simulator settings."""
