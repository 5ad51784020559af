"""The front end: a NIR graph read (``read``), lowered by a list of passes (``passes``, ``compose``) and parsed into
the canonical net (``graph``); its float reference (``float_sim``) and readouts (``readout``); and, for graphs we
write, the ``--portable`` rewrite (``portable``) and the probe of which tools run them (``consumers``)."""
