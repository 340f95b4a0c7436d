"""Small aiohttp servers that imitate WAHA and Slack on port 0, checking keys and signatures."""
