"""Pure NumPy/Keras forecasting: panels of series, the demand model, baselines, metrics."""
