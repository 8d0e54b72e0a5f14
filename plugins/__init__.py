"""Built-in flops-fit plugins. They use exactly the interface any user plugin uses (docs/architecture.md)."""
