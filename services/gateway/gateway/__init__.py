"""The gateway: provider webhooks in, dashboard REST, auth and health. It owns no data."""
