"""The conversation context: leads, conversations, messages, qualification, handoff and reply jobs."""
