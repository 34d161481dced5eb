import { randomBytes } from 'node:crypto'

/**
 * A UUIDv7 (RFC 9562): a millisecond timestamp then random bits. Hold and charge ids are
 * generated here (so a batch knows its ids before the insert) and, being time-ordered, append
 * to the end of the primary-key index instead of dirtying random pages on the hot path.
 */
export function uuidv7(): string {
  const bytes = randomBytes(16)
  let ms = Date.now()
  for (let i = 5; i >= 0; i--) {
    bytes[i] = ms % 256
    ms = Math.floor(ms / 256)
  }
  bytes[6] = (bytes[6] & 0x0f) | 0x70
  bytes[8] = (bytes[8] & 0x3f) | 0x80
  const hex = bytes.toString('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}
