"""Tests of spikinghash.export (a package, so that tests share the oracle and the snnTorch networks)."""
