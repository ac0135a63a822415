"""aispec.specs."""
