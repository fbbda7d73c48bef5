"""The gRPC edge: thin servicers, the error table, the interceptor and conversions."""
