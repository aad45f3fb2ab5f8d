"""Knowledge bases: parsing, chunking, embeddings, keyword and vector retrieval, ingest jobs.

Pure logic over ports (`ports.py`): the vector store and the record stores
are implemented in `storage`, the rules and the API in
`engine.services.knowledge`. Importing this package imports nothing heavy;
the document parsers load their libraries on first use.
"""
