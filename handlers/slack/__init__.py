"""The Slack door: slack-bolt's AsyncApp inside the service's own aiohttp app."""
