"""A small language model as a grounded reader (issue: the LLM reader).

Built so far: :mod:`core.llm.constrained`, decoding constrained to a passage, so every answer
the model gives is a span of it (exact character offsets) and none is invented.
"""
