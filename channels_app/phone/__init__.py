"""The customer's phone (simulator): SMS inbox, WhatsApp chat and calls, played by the operator."""
