"""The Telegram channel: aiogram in, the core's replies out."""
