import type { Server } from 'node:http'
import type { Socket } from 'node:net'

/**
 * Closes a connection that has not started a request within HTTP_IDLE_TIMEOUT_S (10 s): Node
 * cuts slow headers and idle keep-alive connections itself, but a socket that never sends a
 * byte would be held forever (a cheap way to exhaust file descriptors).
 */
export function closeSilentConnections(
  server: Server,
  idleMs = Number(process.env.HTTP_IDLE_TIMEOUT_S ?? 10) * 1000
) {
  const waiting = new WeakMap<Socket, NodeJS.Timeout>()
  server.on('connection', (socket: Socket) => {
    const timer = setTimeout(() => socket.destroy(), idleMs).unref()
    waiting.set(socket, timer)
    socket.once('close', () => clearTimeout(timer))
  })
  const started = (request: { socket: Socket }) => {
    const timer = waiting.get(request.socket)
    if (timer) {
      clearTimeout(timer)
      waiting.delete(request.socket)
    }
  }
  server.on('request', started)
  server.on('upgrade', started)
}
