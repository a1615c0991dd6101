"""Request and response models (Pydantic, camelCase on the wire)."""
