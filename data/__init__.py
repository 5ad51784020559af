"""Datasets: the built-in event dataset ``dvs-digits``, real event datasets via tonic, static images."""
