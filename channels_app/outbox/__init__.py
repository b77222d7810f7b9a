"""The outbox: enqueue (in the caller's transaction), dispatch after commit, record outcomes."""
