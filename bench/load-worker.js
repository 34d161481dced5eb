/*
 * One autocannon round in its own process (started by bench/http.js, pinned to its own core when
 * possible), so the load generator never shares an event loop with the bench script or a server.
 *
 *   node bench/load-worker.js <url> <connections> <seconds>
 *
 * Prints one JSON line: the autocannon result plus this process's CPU use during the round, so the
 * bench can tell when the load generator (not the server) was the bottleneck.
 */
import autocannon from 'autocannon'

const [url, connections = '50', seconds = '5'] = process.argv.slice(2)
if (!url) {
  console.error('usage: node bench/load-worker.js <url> <connections> <seconds>')
  process.exit(2)
}

const cpuBefore = process.cpuUsage()
const wallBefore = process.hrtime.bigint()
const result = await autocannon({
  url,
  connections: Number(connections),
  duration: Number(seconds),
})
const cpu = process.cpuUsage(cpuBefore)
const wallUs = Number(process.hrtime.bigint() - wallBefore) / 1e3

process.stdout.write(
  JSON.stringify({
    requests: result.requests,
    latency: result.latency,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    duration: result.duration,
    // share of one core the load generator used while it ran (1 = saturated)
    loadCpu: (cpu.user + cpu.system) / wallUs,
  }) + '\n'
)
