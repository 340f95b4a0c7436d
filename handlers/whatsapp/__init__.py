"""The WhatsApp door: WAHA webhook in, WAHA REST out."""
