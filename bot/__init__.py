"""The ticketbot process: settings, wiring, scheduler, CLI."""
