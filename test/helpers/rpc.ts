import { ConnectError } from '@connectrpc/connect'
import type { Code } from '@connectrpc/connect'

/** The code and raw message a call failed with; throws if it succeeded. */
export async function codeOf (call: Promise<unknown>): Promise<{ code: Code, message: string }> {
  try {
    await call
  } catch (err) {
    const e = ConnectError.from(err)
    return { code: e.code, message: e.rawMessage }
  }
  throw new Error('the call succeeded')
}
