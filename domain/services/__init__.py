"""Use cases: load through a unit of work, apply the rules, record audit and messages."""
