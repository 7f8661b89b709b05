"""The admin's home page: sales, model health, stock, review queue and live runs."""
