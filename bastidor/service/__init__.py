"""The unattended service: one scheduler that only enqueues, and a pool of bot worker processes."""
