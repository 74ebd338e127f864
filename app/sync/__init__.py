"""The device's sync engine: one module per phase and a short orchestrator."""
