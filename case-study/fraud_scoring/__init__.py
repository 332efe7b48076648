"""The case study's fraud scorer: plain-Python business code, the hot path Cython and PyPy get."""

# What the app reports on /health; the compiled flavours (case-study/build_engines.py) are packages
# of their own and say so in the same two names.
FLAVOUR = "python"
COMPILED = False
