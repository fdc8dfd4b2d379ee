import { startRun } from './leak-guard.ts'

export default function globalSetup (): void {
  startRun()
}
