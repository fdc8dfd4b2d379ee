/**
 * `node --import` this file to record the URL of every module the process
 * loads; they are written, one a line, to the file named by
 * MIRNET_TEST_MODULE_LOG when the process exits.
 */
import { writeFileSync } from 'node:fs'
import { registerHooks } from 'node:module'

const loaded: string[] = []
registerHooks({
  load (url, context, nextLoad) {
    loaded.push(url)
    return nextLoad(url, context)
  }
})
process.once('exit', () => {
  const out = process.env.MIRNET_TEST_MODULE_LOG
  if (out !== undefined) writeFileSync(out, loaded.join('\n') + '\n')
})
