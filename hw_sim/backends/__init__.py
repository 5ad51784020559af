"""Backends: interchangeable executors of an integer network (``target.int_net.IntNet``)."""
