"""REST API of the forecasting app: served forecasts and what-ifs, for staff."""
