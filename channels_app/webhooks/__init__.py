"""Provider webhooks: verify on the raw body, store, then process (statuses and inbound)."""
