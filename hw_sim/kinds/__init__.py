"""NIR node kinds, each described once: the registry (``registry.KINDS``), the synapse and neuron
descriptions with their float and fixed-point behaviours (``synapses``, ``neurons``, ``lif_kernel``), and
their NIR side (``synapse_nodes``, ``neuron_nodes``). See ``registry`` for what an entry holds."""
