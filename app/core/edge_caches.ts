import type { Edge } from 'edge.js'

/**
 * Caches edge.js 6.5 leaves out in production, where templates do not change; call once, after
 * AdonisJS has configured `cache: true`.
 *
 * - The default instance is created without `cache`, so its "supercharged components" plugin
 *   stays recurring, and every render re-lists every disk's components/ folder (readdirSync +
 *   existsSync): list them once.
 * - `@include` compiles its partial with the includer's local variable names, always an array,
 *   and the compiler caches only calls without one: every include re-read, re-parsed and
 *   re-compiled its file on every render (~12 % of the account page's CPU). The output depends
 *   only on the path and those names: keep it per both.
 */
export function cacheTemplatesForProduction(edge: Edge) {
  const listComponents = edge.loader.listComponents.bind(edge.loader)
  let components: ReturnType<typeof listComponents> | undefined
  edge.loader.listComponents = () => (components ??= listComponents())

  for (const compiler of [edge.compiler, edge.asyncCompiler]) {
    const compile = compiler.compile.bind(compiler)
    const partials = new Map<string, ReturnType<typeof compile>>()
    compiler.compile = (path: string, locals?: string[]) => {
      if (!locals) return compile(path)
      const key = `${path}\0${locals.join(',')}`
      let compiled = partials.get(key)
      if (!compiled) partials.set(key, (compiled = compile(path, locals)))
      return compiled
    }
  }
}
