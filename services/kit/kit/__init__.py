"""Shared library of the Vellarys services: no business words live here."""
