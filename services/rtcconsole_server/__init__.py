"""rtc-console server: gRPC services over one store, with in-process workers."""
