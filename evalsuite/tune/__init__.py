"""`tune`: a planner over ordinary variants."""
