"""Real-HTTP fakes of services we don't own, for tests (so the real client libraries run)."""
