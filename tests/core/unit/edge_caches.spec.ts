import { test } from '@japa/runner'
import { Edge } from 'edge.js'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { cacheTemplatesForProduction } from '#core/edge_caches'

test.group('edge caches (production)', () => {
  test('an included partial is compiled once per includer locals, not on every render', async ({
    assert,
  }) => {
    const dir = await mkdtemp(join(tmpdir(), 'agora-edge-'))
    try {
      await writeFile(join(dir, 'list.edge'), "@each(item in items)\n@include('partial')\n@end\n")
      await writeFile(join(dir, 'single.edge'), "@include('partial')\n")
      await writeFile(join(dir, 'partial.edge'), '<{{ item }}>')
      const edge = new Edge({ cache: true })
      edge.mount(dir)
      cacheTemplatesForProduction(edge)
      const plain = new Edge({ cache: true })
      plain.mount(dir)
      const render = async (on: Edge, name: string, state: object) =>
        (await on.render(name, state)).replace(/\s+/g, '')

      assert.equal(await render(edge, 'list', { items: [1, 2] }), '<1><2>')
      assert.equal(await render(plain, 'list', { items: [1, 2] }), '<1><2>')
      // The file changes on disk (it never does in production): only a cached compile ignores it.
      await writeFile(join(dir, 'partial.edge'), '[{{ item }}]')
      assert.equal(await render(edge, 'list', { items: [3] }), '<3>')
      assert.equal(await render(plain, 'list', { items: [3] }), '[3]', 'edge alone recompiles')
      // Another includer, with other locals in scope (none: `item` comes from the state),
      // gets its own compile of the partial.
      assert.equal(await render(edge, 'single', { item: 4 }), '[4]')
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
