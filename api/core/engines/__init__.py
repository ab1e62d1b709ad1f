"""Tortoise's database clients (its "engines"), with transactions that give
back what they took when they fail to begin.

Tortoise (1.1) takes the connection before BEGIN and gives it back only in
`__aexit__`, which Python never runs when `__aenter__` raises. A task
cancelled during BEGIN (a TaskGroup stopping its other tasks after one
failed, a timeout) kept SQLite's one connection locked, so every later query
of the process hung, or kept a PostgreSQL pool connection for good. These
clients' transactions roll back and give the connection back instead.

The modules are named after the drivers: Tortoise's migrations pick their
schema editor by the client's module name.
"""
