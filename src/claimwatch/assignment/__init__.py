"""Assignment of claims and complaints to handlers by skill, region and load (DESIGN M6)."""
