#!/usr/bin/env node
// The mirnet command line; runs under Node >= 22 with type stripping.
import { enableCompileCache } from 'node:module'
import { execWithDaemonDefaults } from '../src/cli/daemon-heap-defaults.ts'
import { stopWithNpm } from '../src/cli/stop-with-npm.ts'

// Node keeps the code it compiles (the stripped TypeScript too) in the temp
// folder, or in NODE_COMPILE_CACHE: the next daemon starts on ~2/3 of the CPU
enableCompileCache()
// before anything else is loaded: V8 and malloc take their settings at start
if (process.argv[2] === 'serve') execWithDaemonDefaults()
// `npx mirnet` runs under a shell that does not pass npm's SIGTERM on
stopWithNpm()
const { main } = await import('../src/cli/main.ts')
process.exit(await main(process.argv))
