"""LobeHub 2.x stand-in for the lab (see README.md next to this package)."""
