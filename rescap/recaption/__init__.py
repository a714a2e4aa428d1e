"""Batch re-captioning of datasets: resumable, pipelined, local or on Ray."""
