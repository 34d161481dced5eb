import router from '@adonisjs/core/services/router'

/**
 * Test-only routes (preloaded in the test environment alone) that exercise the cross-cutting
 * stack — CSRF, body limits, error shapes — before real modules add their own endpoints.
 */
export const probeState = { formPosts: 0 }

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
