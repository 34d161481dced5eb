import router from '@adonisjs/core/services/router'
import { connect } from 'node:net'

/**
 * Test-only routes (preloaded in the test environment alone) that exercise the cross-cutting
 * stack — CSRF, body limits, error shapes — before real modules add their own endpoints.
 */
export const probeState: { formPosts: number; inRequest?: () => void } = { formPosts: 0 }

router.post('/__probe/form', ({ response }) => {
  probeState.formPosts++
  return response.noContent()
})
router.post('/api/v1/__probe/echo', ({ request }) => request.body())
router.get('/__probe/boom', () => {
  throw new Error('internal detail that must not leak')
})
router.get('/api/v1/__probe/boom', () => {
  throw new Error('internal detail that must not leak')
})

// A real driver-level failure to reach a dependency (ECONNREFUSED from a closed port), thrown
// the way a database or Redis outage reaches a route.
const unreachable = () =>
  new Promise((_resolve, reject) => {
    const socket = connect(1, '127.0.0.1')
    socket.on('error', reject)
    socket.on('connect', () => socket.destroy(new Error('port 1 answered')))
  })
router.get('/__probe/unavailable', unreachable)
router.get('/api/v1/__probe/unavailable', unreachable)

// Runs a test's callback inside a real request's async context.
router.get('/__probe/in-request', ({ response }) => {
  probeState.inRequest?.()
  return response.noContent()
})
