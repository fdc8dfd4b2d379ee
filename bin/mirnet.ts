#!/usr/bin/env node
// The mirnet command line; runs under Node >= 22 with type stripping.
import { execWithDaemonDefaults } from '../src/cli/daemon-heap-defaults.ts'

// before anything else is loaded: V8 and malloc take their settings at start
if (process.argv[2] === 'serve') execWithDaemonDefaults()
const { main } = await import('../src/cli/main.ts')
process.exit(await main(process.argv))
