"""spikinghash.export."""
