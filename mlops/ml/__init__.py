"""Model-agnostic ML helpers: device set-up, training loop, metrics. No Django here."""
