"""Pure (sans-I/O) wire codecs for the venues the keeper talks to."""
