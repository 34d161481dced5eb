import type AgentVersion from '#agents/models/agent_version'

export type DiffLine = {
  op: 'same' | 'added' | 'removed'
  text: string
  oldNo: number | null
  newNo: number | null
}
export type DiffRow = DiffLine | { op: 'skip'; count: number }

/** Above this many cells the LCS table is too costly: the diff degrades to "all replaced". */
const MAX_CELLS = 4_000_000
const CONTEXT = 3

/**
 * A line diff (longest common subsequence, after trimming the common head and tail) of two
 * texts, with unchanged stretches longer than the context collapsed into `skip` rows.
 */
export function lineDiff(before: string, after: string): DiffRow[] {
  const a = before === '' ? [] : before.split('\n')
  const b = after === '' ? [] : after.split('\n')
  let head = 0
  while (head < a.length && head < b.length && a[head] === b[head]) head++
  let tail = 0
  while (
    tail < a.length - head &&
    tail < b.length - head &&
    a[a.length - 1 - tail] === b[b.length - 1 - tail]
  )
    tail++
  const midA = a.slice(head, a.length - tail)
  const midB = b.slice(head, b.length - tail)

  const lines: DiffLine[] = a
    .slice(0, head)
    .map((line, i) => ({ op: 'same', text: line, oldNo: i + 1, newNo: i + 1 }))
  let oldNo = head
  let newNo = head
  const push = (op: DiffLine['op'], line: string) => {
    if (op !== 'added') oldNo++
    if (op !== 'removed') newNo++
    lines.push({
      op,
      text: line,
      oldNo: op === 'added' ? null : oldNo,
      newNo: op === 'removed' ? null : newNo,
    })
  }

  if (midA.length * midB.length > MAX_CELLS) {
    for (const line of midA) push('removed', line)
    for (const line of midB) push('added', line)
  } else {
    // lcs[i][j]: length of the LCS of midA[i..] and midB[j..].
    const width = midB.length + 1
    const lcs = new Uint32Array((midA.length + 1) * width)
    for (let i = midA.length - 1; i >= 0; i--) {
      for (let j = midB.length - 1; j >= 0; j--) {
        lcs[i * width + j] =
          midA[i] === midB[j]
            ? lcs[(i + 1) * width + j + 1] + 1
            : Math.max(lcs[(i + 1) * width + j], lcs[i * width + j + 1])
      }
    }
    let i = 0
    let j = 0
    while (i < midA.length || j < midB.length) {
      if (i < midA.length && j < midB.length && midA[i] === midB[j]) {
        push('same', midA[i++])
        j++
      } else if (
        i < midA.length &&
        (j === midB.length || lcs[(i + 1) * width + j] >= lcs[i * width + j + 1])
      ) {
        push('removed', midA[i++])
      } else {
        push('added', midB[j++])
      }
    }
  }
  for (const line of a.slice(a.length - tail)) push('same', line)
  return collapse(lines)
}

function collapse(lines: DiffLine[]): DiffRow[] {
  const rows: DiffRow[] = []
  let start = 0
  while (start < lines.length) {
    if (lines[start].op !== 'same') {
      rows.push(lines[start++])
      continue
    }
    let end = start
    while (end < lines.length && lines[end].op === 'same') end++
    const keepHead = start === 0 ? 0 : CONTEXT
    const keepTail = end === lines.length ? 0 : CONTEXT
    if (end - start > keepHead + keepTail + 1) {
      rows.push(
        ...lines.slice(start, start + keepHead),
        { op: 'skip', count: end - start - keepHead - keepTail },
        ...lines.slice(end - keepTail, end)
      )
    } else {
      rows.push(...lines.slice(start, end))
    }
    start = end
  }
  return rows
}

/** The configuration fields a version has, as displayable text, for the "changed fields" table. */
export function versionFields(version: AgentVersion): Record<string, string> {
  return {
    'Model': version.model,
    'Fallback models': version.fallbackModels.length ? version.fallbackModels.join(', ') : '—',
    'Temperature': version.temperature === null ? 'model default' : String(version.temperature),
    'Max tokens': String(version.maxTokens),
    'Tools': version.tools.length ? JSON.stringify(version.tools) : '—',
    'Metadata': Object.keys(version.metadata ?? {}).length ? JSON.stringify(version.metadata) : '—',
  }
}

/** Fields that differ between two versions (the previous one may be absent for version 1). */
export function changedFields(previous: AgentVersion | null, current: AgentVersion) {
  const after = versionFields(current)
  const before = previous ? versionFields(previous) : null
  return Object.keys(after)
    .filter((field) => !before || before[field] !== after[field])
    .map((field) => ({ field, before: before ? before[field] : null, after: after[field] }))
}
