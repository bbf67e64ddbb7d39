"""Data preparation shared by the collections: manifest paths (:mod:`.manifest`)."""
