"""credits models."""
