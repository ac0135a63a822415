"""aispec.runtime."""
