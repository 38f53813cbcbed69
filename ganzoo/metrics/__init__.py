"""Evaluation metrics (each registered through the ``ganzoo_metrics`` hook)."""
