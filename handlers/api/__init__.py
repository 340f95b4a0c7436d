"""HTTP: REST API, health, metrics."""
