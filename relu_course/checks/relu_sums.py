"""Public checks of assignment 02 (filled in with the assignment)."""
