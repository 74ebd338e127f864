"""Domain rules as plain functions over plain values: no flet, httpx or fastapi."""
