"""Domain rules as plain functions over plain values: no flet, httpx, fastapi or SQL.

What the rules read from a store is read by app/queries (the device's SQLite, and the
SQL the central store shares with it); the clock (clock.py), the scopes (scope.py) and
the permission policy (policy.py) each have one home here.
"""
