"""Start-up and wiring: configuration, the command line and the messenger adapters."""
