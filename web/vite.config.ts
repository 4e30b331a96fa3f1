import { defineConfig } from "vite";

// The build goes into the gateway's embed directory; `npm run dev` proxies the API to a running
// `vds up` (VDS_GATEWAY, default http://127.0.0.1:8080).
export default defineConfig({
  build: {
    outDir: "../services/gateway/webui/dist",
    emptyOutDir: true,
    chunkSizeWarningLimit: 2000,
    sourcemap: false,
  },
  server: {
    proxy: { "/v1": process.env.VDS_GATEWAY ?? "http://127.0.0.1:8080" },
  },
});
