"""The routing plan: YAML parsed once, validated, and turned into frozen dataclasses (model.py)."""
