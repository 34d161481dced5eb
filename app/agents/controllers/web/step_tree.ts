import { formatCredits, parseCredits } from '#core'
import type { RunDto } from '#agents/dtos/run'

type StepDto = NonNullable<RunDto['steps']>[number]

/** One step with the steps nested under it (by `parent`) and the totals of that subtree. */
export type StepNode = {
  step: StepDto
  children: StepNode[]
  /** Whether the step groups others (a workflow step or a handoff): its totals are the subtree's. */
  group: boolean
  /** Tool calls, handoffs and workflow steps carry an input and output worth opening. */
  expandable: boolean
  totalMicros: bigint
  totalCost: string
  inputTokens: number
  outputTokens: number
}

const GROUPS = new Set(['workflow_step', 'handoff'])
const EXPANDABLE = new Set(['workflow_step', 'handoff', 'tool_call'])

/**
 * A run's steps as a tree for the run page: children under the step named by their `parent`
 * (a parent always comes before its children), each node with the cost and tokens of its
 * subtree, and the run's total as the sum of the top-level subtrees, i.e. of every step.
 */
export function stepTree(steps: StepDto[]) {
  const byPosition = new Map<number, StepNode>()
  const roots: StepNode[] = []
  for (const step of steps) {
    const node: StepNode = {
      step,
      children: [],
      group: GROUPS.has(step.kind),
      expandable: EXPANDABLE.has(step.kind),
      totalMicros: 0n,
      totalCost: '0',
      inputTokens: 0,
      outputTokens: 0,
    }
    byPosition.set(step.position, node)
    const parent = step.parent === null ? undefined : byPosition.get(step.parent)
    ;(parent ? parent.children : roots).push(node)
  }
  const sum = (node: StepNode) => {
    node.totalMicros = parseCredits(node.step.cost_credits) ?? 0n
    node.inputTokens = node.step.input_tokens
    node.outputTokens = node.step.output_tokens
    for (const child of node.children) {
      sum(child)
      node.totalMicros += child.totalMicros
      node.inputTokens += child.inputTokens
      node.outputTokens += child.outputTokens
    }
    node.totalCost = formatCredits(node.totalMicros)
  }
  roots.forEach(sum)
  const totalMicros = roots.reduce((total, node) => total + node.totalMicros, 0n)
  return {
    roots,
    totalCost: formatCredits(totalMicros),
    inputTokens: roots.reduce((total, node) => total + node.inputTokens, 0),
    outputTokens: roots.reduce((total, node) => total + node.outputTokens, 0),
  }
}
