"""Synthetic demo store: simulation, pictures, names and the database writer."""
