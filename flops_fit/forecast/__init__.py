"""Forecasts of a sweep before it runs: time, memory, cost and precision (docs/forecast.md)."""
