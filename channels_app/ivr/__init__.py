"""IVR: outbound voice-bot calls, key presses and their actions, inbound calls with context."""
