"""Error analysis of one evaluation ("why AP is lost"): the analysis object (analyze.py), its
figures (plots.py) and the gallery of the worst images (gallery.py)."""
