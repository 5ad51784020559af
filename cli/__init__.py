"""The `spikinghash` command line: a thin layer over library functions."""
