"""Writing spreadsheets: ticket exports in the weekly report's own columns."""
