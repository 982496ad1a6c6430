"""Adapters that map other data models into p4e's input layer."""
