import net from 'node:net'

/*
 * Addresses outside the public internet, which tenant-controlled URLs (providers, webhook
 * endpoints, tools) may not reach unless an operator allows it: SSRF into cloud metadata, the
 * database or other services. Callers check every address DNS returns, on every connection.
 */
const PRIVATE = new net.BlockList()
for (const [prefix, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 3],
] as const) {
  PRIVATE.addSubnet(prefix, bits, 'ipv4')
}
for (const [prefix, bits] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
] as const)
  PRIVATE.addSubnet(prefix, bits, 'ipv6')

/** An IPv6 address as its eight 16-bit groups, or null when it is not one (a `%zone` is ignored). */
function ipv6Groups(address: string): number[] | null {
  let text = address.split('%')[0]
  if (!net.isIPv6(text)) return null
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text)
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number)
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const groups = (part: string) =>
    part ? part.split(':').map((group) => Number.parseInt(group, 16)) : []
  const [head, tail] = text.split('::')
  if (tail === undefined) return groups(head)
  const left = groups(head)
  const right = groups(tail)
  return [...left, ...Array(8 - left.length - right.length).fill(0), ...right]
}

/*
 * IPv6 forms that carry an IPv4 address, which a host (or a NAT64/6to4 gateway) may turn into a
 * connection to that IPv4 address: they are judged by the IPv4 address they embed.
 */
function embeddedIpv4(g: number[]): string | null {
  const v4 = (high: number, low: number) => `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`
  const zeros = (from: number, to: number) => g.slice(from, to).every((group) => group === 0)
  // ::ffff:a.b.c.d (IPv4-mapped) and ::a.b.c.d (IPv4-compatible, which includes :: and ::1)
  if (zeros(0, 5) && (g[5] === 0xffff || g[5] === 0)) return v4(g[6], g[7])
  // ::ffff:0:a.b.c.d (IPv4-translated, SIIT)
  if (zeros(0, 4) && g[4] === 0xffff && g[5] === 0) return v4(g[6], g[7])
  // 64:ff9b::/96, the NAT64 well-known prefix
  if (g[0] === 0x64 && g[1] === 0xff9b && zeros(2, 6)) return v4(g[6], g[7])
  // 2002::/16, 6to4: the IPv4 address follows the prefix
  if (g[0] === 0x2002) return v4(g[1], g[2])
  // 2001::/32, Teredo: the client's IPv4 address, inverted, in the last 32 bits
  if (g[0] === 0x2001 && g[1] === 0) return v4(g[6] ^ 0xffff, g[7] ^ 0xffff)
  return null
}

/**
 * Whether an IP address is loopback, private, link-local or otherwise not on the internet,
 * including IPv6 addresses that embed such an IPv4 address (mapped, compatible, NAT64, 6to4,
 * Teredo). The local-use NAT64 prefix 64:ff9b:1::/48 only leads into an operator's own network
 * and is refused whatever it embeds.
 */
export function isPrivateAddress(address: string) {
  const family = net.isIP(address.split('%')[0])
  if (family === 0) return false
  if (family === 4) return PRIVATE.check(address, 'ipv4')
  const groups = ipv6Groups(address)
  if (!groups || groups.length !== 8) return true
  if (groups[0] === 0x64 && groups[1] === 0xff9b && groups[2] === 1) return true
  const ipv4 = embeddedIpv4(groups)
  if (ipv4) return PRIVATE.check(ipv4, 'ipv4')
  return PRIVATE.check(address.split('%')[0], 'ipv6')
}
