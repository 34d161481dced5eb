import ace from '@adonisjs/core/services/ace'

/** Runs an ace command in-process, capturing what it writes to stdout and stderr. */
export async function runCommand(command: any, argv: string[]) {
  let stdout = ''
  let stderr = ''
  const write = {
    out: process.stdout.write.bind(process.stdout),
    err: process.stderr.write.bind(process.stderr),
  }
  process.stdout.write = ((chunk: any) => ((stdout += String(chunk)), true)) as any
  process.stderr.write = ((chunk: any) => ((stderr += String(chunk)), true)) as any
  try {
    const instance = await ace.create(command, argv)
    await instance.exec()
    return { exitCode: instance.exitCode ?? 0, stdout, stderr, error: instance.error }
  } finally {
    process.stdout.write = write.out
    process.stderr.write = write.err
  }
}
