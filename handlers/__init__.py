"""The doors: WhatsApp, Slack, REST, and the grammar they share."""
