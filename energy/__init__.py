"""spikinghash.energy."""
