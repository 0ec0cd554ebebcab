"""Venue adapters: I/O around the sans-I/O codecs."""
