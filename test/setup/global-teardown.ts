import { endRun } from './leak-guard.ts'

export default async function globalTeardown (): Promise<void> {
  await endRun()
}
