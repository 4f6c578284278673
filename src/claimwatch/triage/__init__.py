"""Triage at report time (M5): routes (三免 fast track, green channel, manual review) by rules as data, and
catastrophe events."""
