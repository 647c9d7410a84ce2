"""Operator commands run against a deployed instance (not part of the Functions app)."""
