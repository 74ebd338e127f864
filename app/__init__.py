"""Puhui Workbench (普惠营销工作台)."""
