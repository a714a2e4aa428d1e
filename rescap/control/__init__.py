"""Control of caption text: richness (length) policy, relevance scoring, degradation-word filter."""
