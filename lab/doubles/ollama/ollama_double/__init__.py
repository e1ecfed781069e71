"""A stdlib-only stand-in for the Ollama server, faithful to its REST API (see README.md)."""
