// Builds the console into the Python package, where the HTTP door serves it (docs/dashboard.md).
// The generated code is clients/node's (imported by relative path); `dedupe` makes its bare
// imports (@bufbuild/protobuf, @connectrpc/connect) resolve to this package's node_modules, so
// the bundle has one copy of each and clients/node need not be installed.
import { defineConfig } from "vite";

export default defineConfig({
  base: "/",
  resolve: { dedupe: ["@bufbuild/protobuf", "@connectrpc/connect"] },
  build: {
    outDir: process.env.RTC_WEB_OUT_DIR ?? "../../services/rtcconsole_server/gateway/web",
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
    reportCompressedSize: true,
    chunkSizeWarningLimit: 400,
  },
  server: {
    // `npm run dev` against a `make serve` on the default door.
    proxy: { "/rtcconsole.v1.": "http://127.0.0.1:8080" },
  },
});
