"""The ai context: replies, structured qualification and handoff decisions, with a call log."""
