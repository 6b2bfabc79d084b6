"""The knowledge base: versioned documents, hybrid retrieval and grounded answers."""
