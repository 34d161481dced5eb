/**
 * ESLint rule: modules talk only through each other's public door, along the dependency map in
 * config/modules.ts. Inside app/<m>/ an import of `#<other>` must name a module <m> depends on,
 * `#<other>/…` (another module's internals) is never allowed, and relative paths may not leave
 * the module folder. `core` imports no module.
 */
import path from 'node:path'
import type { Rule } from 'eslint'

export function createModuleBoundariesRule(
  modules: Record<string, readonly string[]>
): Rule.RuleModule {
  const names = new Set(Object.keys(modules))
  return {
    meta: {
      type: 'problem',
      docs: { description: 'Enforce module boundaries (public doors and the dependency map)' },
      schema: [],
      messages: {
        internals: "'{{from}}' may not import '{{source}}': use the public door '#{{target}}'.",
        undeclared:
          "'{{from}}' does not depend on '{{target}}' (config/modules.ts): '{{source}}' is not allowed.",
        escape:
          "'{{from}}' may not reach outside its folder with '{{source}}': import the module's door.",
        tests: "Application code may not import test helpers ('{{source}}').",
      },
    },
    create(context) {
      const file = path.relative(context.cwd, context.filename).split(path.sep).join('/')
      const match = /^app\/([^/]+)\//.exec(file)
      if (!match || !names.has(match[1])) return {}
      const from = match[1]
      const allowed = new Set(['core', ...modules[from]])

      function check(node: any, source: unknown) {
        if (typeof source !== 'string') return
        if (source.startsWith('.')) {
          const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(file), source))
          if (!resolved.startsWith(`app/${from}/`)) {
            context.report({ node, messageId: 'escape', data: { from, source } })
          }
          return
        }
        if (source.startsWith('#tests/')) {
          context.report({ node, messageId: 'tests', data: { source } })
          return
        }
        const hash = /^#([^/]+)(\/.*)?$/.exec(source)
        if (!hash || !names.has(hash[1]) || hash[1] === from) return
        const [target, deep] = [hash[1], hash[2]]
        if (from === 'core' || !allowed.has(target)) {
          context.report({ node, messageId: 'undeclared', data: { from, target, source } })
        } else if (deep) {
          context.report({ node, messageId: 'internals', data: { from, target, source } })
        }
      }

      return {
        ImportDeclaration: (node: any) => check(node.source, node.source.value),
        ExportNamedDeclaration: (node: any) => node.source && check(node.source, node.source.value),
        ExportAllDeclaration: (node: any) => check(node.source, node.source.value),
        ImportExpression: (node: any) =>
          node.source.type === 'Literal' && check(node.source, node.source.value),
      }
    },
  }
}
