"""spikinghash.retrieval: Hamming retrieval with packed hash codes.

codes (packing, ``codes.npz``) -> ranking (distances, tie rules) -> metrics (per-query
formulas) -> scoring (all metrics in one pass); index (faiss binary indexes on disk,
fingerprinted) -> search (top-k neighbours).
"""
