"""The back ends, one package each (see ``aispec.runtime.registry`` for what each declares)."""
