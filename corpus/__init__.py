"""The shared kernel: what a regulation, an article and a citation are; the store and the text encoders.

Imports nothing else of ours.
"""
