"""The failover cluster: its database, its pure model, and the runtime that makes it real."""
