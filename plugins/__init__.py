"""Library knowledge, installed as ``celery_poolkit.plugins``: one module per library.

A plugin holds what poolkit knows about its library as data (what each call does, whether
it is safe under a green pool) and a runtime adapter that imports the library lazily, so
the advisor works where the library is not installed.
"""
