"""spikinghash.train."""
