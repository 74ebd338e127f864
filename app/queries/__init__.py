"""Device-store reads: SQL over the device's SQLite, and the SQL the central store
shares with it (the branch ranking). Rows in, plain values and dataclasses out; the
rules they apply live in app/services as plain functions over values."""
