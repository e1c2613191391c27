"""Experiment runner: builds every dataset of a paper table, trains each row, evaluates, writes the table."""
