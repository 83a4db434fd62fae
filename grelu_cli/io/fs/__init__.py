"""File-system safety: atomic outputs, temporary names, locks, symlink-safe opens, OS errors."""
