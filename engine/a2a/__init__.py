"""A2A (Agent2Agent) agents, through the `a2a-sdk` client.

- cards.py: which card URLs each format (auto, google, microsoft) tries; fetching one
- client.py: `send_message`, one user message in, the reply text and parts out
"""
