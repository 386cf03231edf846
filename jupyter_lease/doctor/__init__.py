"""``doctor``: how each value was found (the chains' records, as they are), which versions run."""
