"""aispec.templates."""
