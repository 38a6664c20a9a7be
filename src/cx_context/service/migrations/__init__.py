"""Alembic migrations of the relational store (knowledge, customer record, risk log)."""
