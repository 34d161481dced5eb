/**
 * Workflow step inputs are templates: `{{input}}` is the workflow's input, `{{steps.N.output}}`
 * the output of step N (from 1). Whitespace inside the braces is allowed; anything else in
 * double braces is left as written.
 */
const PLACEHOLDER = /\{\{\s*(input|steps\.(\d+)\.output)\s*\}\}/g

export function renderTemplate(template: string, input: string, outputs: string[]) {
  return template.replace(PLACEHOLDER, (_, name: string, step?: string) =>
    name === 'input' ? input : (outputs[Number(step) - 1] ?? '')
  )
}

/** The step numbers a template refers to (to refuse references to itself or later steps). */
export function referencedSteps(template: string) {
  return [...template.matchAll(PLACEHOLDER)].filter((m) => m[2]).map((m) => Number(m[2]))
}
