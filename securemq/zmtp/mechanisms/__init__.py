"""Security mechanisms: NULL, PLAIN, CURVE. Each is sans-IO: verbs, no I/O."""
