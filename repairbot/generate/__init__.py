"""Patch generators: turn ranked suspicious locations into candidate patches.

Every generator has a `name` and `generate(project_root, locations, limit)` returning
`Candidate`s with whole-file texts, best first by `prior`, already free of syntax errors
and duplicates, so validation spends its test runs only on patches that can pass.
"""
