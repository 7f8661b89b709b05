"""Product categorisation from image and title: pure NumPy/Keras, no Django."""
