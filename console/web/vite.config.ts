import { defineConfig } from 'vite';

// The console is built into ../dist, which the Go binary embeds. The build
// is deterministic: file names carry content hashes only, nothing carries a
// time, and `make check-console` fails when a rebuild differs from the
// committed files.
export default defineConfig({
  base: '/console/',
  build: {
    outDir: '../dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    sourcemap: false,
    modulePreload: { polyfill: false },
    rollupOptions: {
      output: {
        entryFileNames: 'assets/[name]-[hash].js',
        chunkFileNames: 'assets/[name]-[hash].js',
        assetFileNames: 'assets/[name]-[hash][extname]',
      },
    },
  },
});
