"""Emulator of the WhatsApp Business API on-premises client (see tests/emulator/README.md)."""
DEFAULT_VERSION = "v2.63.1"
