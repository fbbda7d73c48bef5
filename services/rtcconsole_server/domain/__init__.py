"""Rules and use cases. Plain Python over the store; no gRPC here."""
