"""The notify context: outbound WhatsApp deliveries and seller notifications."""
