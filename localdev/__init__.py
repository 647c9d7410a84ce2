"""Local tooling, never deployed: the Gold importer and the éCO2mix file parser, the sample Gold data, the
embedded (SQLite) Gold schema they write, this app's devhost hooks and the docs/configuration.md generator.

It may import what ships (domain, core, stores, devhost); nothing that ships imports it (.importlinter)."""
