"""The aispec version, as a constant (importlib.metadata costs startup time on every command)."""

VERSION = "0.1.0"
