#!/usr/bin/env node
// The one executable. The TypeScript sources are compiled to dist/ by `npm run build`.
import '../dist/runtime/cli/main.js';
