"""The suite: TOML parsing and validation, types, overrides, presets, budgets."""
