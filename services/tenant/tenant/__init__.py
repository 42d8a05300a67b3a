"""The tenant context: tenants, niches, channels, users and roles, settings, catalog, audit."""
