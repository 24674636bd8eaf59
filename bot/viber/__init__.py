"""The Viber channel: Viber's REST bot API in, the core's replies out."""
