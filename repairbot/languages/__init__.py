"""Language support through tree-sitter: parsing, syntax checks and statement lookup.

One module per language, each exposing the same small set of functions, so generators
stay language-agnostic where they can and a new language is a new module, not a new branch
in every generator.
"""
