"""aispec.ui."""
