"""What every layer above the domain shares: the typed settings and the telemetry (logging, Azure Monitor)."""
