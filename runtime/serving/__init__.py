"""The REST service for an exported model: ``create_app(artifacts_dir)`` in :mod:`aispec.runtime.serving.app`."""
