"""aispec.schemas."""
