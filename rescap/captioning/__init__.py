"""The captioner: chain-of-thought captions on a VLM, controlled for richness and relevance."""
