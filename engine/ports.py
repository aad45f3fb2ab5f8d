"""Ports: the interfaces the engine needs from the outside, as Protocols.

`storage` implements them over MongoDB; tests may implement them in memory.
"""
