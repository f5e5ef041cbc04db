"""Operating-system helpers below every layer: child processes."""
