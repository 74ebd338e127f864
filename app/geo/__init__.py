"""Coordinates (WGS-84 stored; GCJ-02/BD-09 converted at the boundary), distances, maps."""
