"""Recommendation models: pure NumPy/Keras, no Django."""
