"""The rules of ticketbot: pure Python, no I/O (see DESIGN.md)."""
