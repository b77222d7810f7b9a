"""Start-up registrations of this capability: timeline sources, customer panels, demo data."""
