import { test } from '@japa/runner'

test.group('core / landing page in a real browser', () => {
  test('loads with no console errors and no request leaving 127.0.0.1', async ({
    browserContext,
    assert,
  }) => {
    const page = await browserContext.newPage()
    const problems: string[] = []
    const hosts = new Set<string>()
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') problems.push(message.text())
    })
    page.on('pageerror', (error) => problems.push(error.message))
    page.on('request', (request) => hosts.add(new URL(request.url()).hostname))

    const response = await page.goto(`http://${process.env.HOST}:${process.env.PORT}/`)
    assert.equal(response?.status(), 200)
    await page.waitForLoadState('networkidle')

    // htmx and Alpine actually loaded and initialised from our own origin.
    assert.isTrue(await page.evaluate(() => typeof (globalThis as any).htmx === 'object'))
    assert.isTrue(await page.evaluate(() => typeof (globalThis as any).Alpine === 'object'))
    assert.deepEqual(problems, [])
    assert.deepEqual([...hosts], ['127.0.0.1'])
  })
})
