"""Prompt templates for the captioner, shipped as package data of ``rescap`` (``rescap.prompts``).

Read them with ``importlib.resources.files("rescap.prompts")``.
"""
