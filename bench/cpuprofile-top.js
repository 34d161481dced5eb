/*
 * Where the CPU went in a V8 .cpuprofile (e.g. from `npm run bench:http -- --cpu-prof`):
 * self time by package and by function, and inclusive time by function, as % of the samples
 * taken while HTTP requests were being served (first to last sample under node's HTTP parser
 * callbacks), so start-up (migrations, imports) does not drown the request path.
 *
 *   node bench/cpuprofile-top.js tmp/bench-profiles/CPU.….cpuprofile [--top 40] [--all]
 */
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '40' }, all: { type: 'boolean', default: false } },
})
if (!positionals[0]) {
  console.error('usage: node bench/cpuprofile-top.js <file.cpuprofile> [--top N] [--all]')
  process.exit(2)
}
const profile = JSON.parse(readFileSync(positionals[0], 'utf8'))
const nodes = new Map(profile.nodes.map((node) => [node.id, node]))
const parent = new Map()
for (const node of profile.nodes)
  for (const child of node.children ?? []) parent.set(child, node.id)

const frameKey = ({ functionName, url, lineNumber }) =>
  `${functionName || '(anonymous)'} ${url.split('/').slice(-2).join('/')}:${lineNumber + 1}`
const packageOf = ({ url, functionName }) => {
  if (!url) return `(${functionName.replace(/[()]/g, '') || 'native'})`
  const pkg = url.match(/node_modules\/((@[^/]+\/)?[^/]+)/)
  if (pkg) return pkg[1]
  if (url.startsWith('node:')) return 'node internals'
  return url.includes('/build/') ? `app: ${url.split('/build/').pop()}` : url
}
const ancestors = function* (id) {
  for (let current = id; current !== undefined; current = parent.get(current))
    yield nodes.get(current)
}
const underHttp = (id) =>
  [...ancestors(id)].some((n) =>
    ['parserOnIncoming', 'parserOnHeadersComplete'].includes(n.callFrame.functionName)
  )

let first = 0
let last = profile.samples.length - 1
if (!values.all) {
  first = profile.samples.findIndex(underHttp)
  last = profile.samples.findLastIndex(underHttp)
  if (first < 0) {
    console.error('no samples under an HTTP request: use --all')
    process.exit(1)
  }
}

const self = new Map()
const byPackage = new Map()
const inclusive = new Map()
let total = 0
const add = (map, key, us) => map.set(key, (map.get(key) ?? 0) + us)
for (let i = first; i <= last; i++) {
  const us = profile.timeDeltas[i] ?? 0
  const node = nodes.get(profile.samples[i])
  total += us
  add(self, frameKey(node.callFrame), us)
  add(byPackage, packageOf(node.callFrame), us)
  const seen = new Set()
  for (const ancestor of ancestors(node.id)) {
    const key = frameKey(ancestor.callFrame)
    if (!seen.has(key)) add(inclusive, key, us)
    seen.add(key)
  }
}

const top = Number(values.top)
const show = (title, map) => {
  console.log(`\n${title}`)
  for (const [key, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${((100 * us) / total).toFixed(1).padStart(6)}%  ${key}`)
  }
}
console.log(
  `${(total / 1e6).toFixed(2)} s of samples${values.all ? '' : ' while serving requests'}`
)
show('self time by package', byPackage)
show('self time by function', self)
show('inclusive time by function', inclusive)
