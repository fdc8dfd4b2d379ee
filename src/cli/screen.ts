/**
 * Frames of a view that refreshes, such as `mirnet status --watch`: redrawn
 * in place on a terminal (as `top` does), one after the other elsewhere.
 * Pure functions from lines to the text to write.
 */

const ESC = '\x1b['
/** Cursor to the top-left corner. */
const HOME = `${ESC}H`
/** Erase from the cursor to the end of the line, and to the end of the screen. */
const ERASE_LINE = `${ESC}K`
const ERASE_BELOW = `${ESC}J`
const ERASE_SCREEN = `${ESC}2J`
const HIDE_CURSOR = `${ESC}?25l`
const SHOW_CURSOR = `${ESC}?25h`

export interface ScreenSize {
  columns: number
  rows: number
}

/**
 * The lines cut to the screen: each to `columns - 1` characters (a line that
 * fills the last column makes some terminals wrap), and the lines past the
 * last row but one replaced by a line that says how many are hidden.
 */
export function fitToScreen (lines: string[], size: ScreenSize): string[] {
  const width = Math.max(1, size.columns - 1)
  const cut = (line: string): string => line.length > width ? line.slice(0, Math.max(0, width - 1)) + '…' : line
  let shown = lines
  if (size.rows > 1 && lines.length > size.rows - 1) {
    const keep = size.rows - 2
    shown = [...lines.slice(0, keep), `… ${lines.length - keep} more lines: enlarge the terminal`]
  }
  return shown.map(cut)
}

/**
 * A frame drawn over the previous one on a terminal: cursor home, each line
 * erased to its end, the rest of the screen erased. The first frame clears
 * the screen and hides the cursor; {@link terminalEnd} shows it again.
 */
export function terminalFrame (lines: string[], size: ScreenSize, first: boolean): string {
  const body = fitToScreen(lines, size).map(line => line + ERASE_LINE).join('\n')
  return (first ? HIDE_CURSOR + ERASE_SCREEN : '') + HOME + body + ERASE_BELOW
}

/** What ends a run of terminal frames: the cursor shown again, below the last frame. */
export function terminalEnd (): string {
  return SHOW_CURSOR + '\n'
}

/** The line between two frames written one after the other (not to a terminal). */
export const FRAME_SEPARATOR = '-'.repeat(40)

/** A frame written after the previous ones (to a file or a pipe): a separator line before every frame but the first. */
export function appendedFrame (lines: string[], first: boolean): string {
  return (first ? '' : FRAME_SEPARATOR + '\n') + lines.map(line => line + '\n').join('')
}
