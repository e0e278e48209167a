"""Independent reference models, written straight from a program's source, for differential tests.

Nothing in this package imports `keeper`: a model that shared code with the implementation it
checks could not catch that implementation's mistakes.
"""
