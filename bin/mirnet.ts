#!/usr/bin/env node
// The mirnet command line; runs under Node >= 22 with type stripping.
import { main } from '../src/cli/main.ts'

process.exit(await main(process.argv))
