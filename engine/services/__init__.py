"""Application services: the rules behind every API, called by the GraphQL resolvers.

They work on the records in `records.py` through the store Protocols in
`stores.py`; `storage` implements the stores over MongoDB.
"""
