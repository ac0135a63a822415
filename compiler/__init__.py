"""aispec.compiler."""
