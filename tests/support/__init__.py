"""Test support: real servers the tests run themselves (no mocks of our code)."""
