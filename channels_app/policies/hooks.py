"""Start-up registrations of this capability."""
