"""The benchmark harness: servers, pre-built requests, the load generator, and the report."""
