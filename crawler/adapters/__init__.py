"""Platform adapters: one module per engine; registry.py picks the one a response needs."""
