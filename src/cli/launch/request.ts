/**
 * The launcher's wire format between bin/tix (perl client) and a warm child.
 *
 * Client → child, one message: "TIX1", u32le body length, then the body as
 * NUL-separated fields: $0, program name, umask (decimal), cwd, argc, the
 * arguments, then every environment entry "NAME=value" to the end. The
 * client's fds 0, 1, 2 and an O_PATH fd of its cwd ride along with the first
 * bytes as SCM_RIGHTS.
 *
 * Child → client: 'P' u32le pid (ready; the client answers 'G' to start the
 * job, or closes to run the command itself), 'Q' u32le pid (the same, from a
 * child that served jobs before), or 'R' u32le len + reason (refused). After
 * 'G': 'S' u32le exit status when the job ends; the client then exits, which
 * a reused child waits for.
 *
 * Strings are decoded as UTF-8, as Node decodes argv and environ itself.
 */
export const MAGIC = 'TIX1';
export const HEADER_BYTES = 8;
/** A request larger than this is refused (ARG_MAX-sized argv+env fits easily). */
export const MAX_BODY = 16 << 20;

export interface LaunchRequest {
  argv0: string;
  program: string;
  umask: number;
  cwd: string;
  args: string[];
  env: Record<string, string>;
}

/** Body length from the 8-byte header, or an error text. */
export function parseHeader(h: Buffer): number | string {
  if (h.length < HEADER_BYTES || h.subarray(0, 4).toString('latin1') !== MAGIC) return 'bad request header';
  const n = h.readUInt32LE(4);
  return n > MAX_BODY ? 'request too large' : n;
}

export function parseRequest(body: Buffer): LaunchRequest | string {
  const f = body.toString('utf8').split('\0');
  if (f.length > 0 && f[f.length - 1] === '') f.pop();
  if (f.length < 5) return 'truncated request';
  const [argv0, program, umaskText, cwd, argcText] = f as [string, string, string, string, string];
  const argc = Number(argcText);
  const umask = Number(umaskText);
  if (!Number.isInteger(argc) || argc < 0 || 5 + argc > f.length) return 'bad argument count';
  if (!Number.isInteger(umask) || umask < 0 || umask > 0o777) return 'bad umask';
  const env: Record<string, string> = {};
  for (const e of f.slice(5 + argc)) {
    const eq = e.indexOf('=');
    // Node drops environ entries without '=' too; the first of duplicate names wins, as with getenv.
    if (eq <= 0) continue;
    const k = e.slice(0, eq);
    if (!(k in env)) env[k] = e.slice(eq + 1);
  }
  return { argv0, program, umask, cwd, args: f.slice(5, 5 + argc), env };
}

/** Encode a request (used by tests and a Node client; bin/tix builds the same bytes in perl). */
export function encodeRequest(r: LaunchRequest): Buffer {
  const fields = [r.argv0, r.program, String(r.umask), r.cwd, String(r.args.length), ...r.args,
    ...Object.entries(r.env).map(([k, v]) => `${k}=${v}`)];
  const body = Buffer.from(fields.join('\0') + '\0');
  const h = Buffer.alloc(HEADER_BYTES);
  h.write(MAGIC, 0, 'latin1');
  h.writeUInt32LE(body.length, 4);
  return Buffer.concat([h, body]);
}

export function reply(kind: 'P' | 'Q' | 'S', n: number): Buffer {
  const b = Buffer.alloc(5);
  b.write(kind, 0, 'latin1');
  b.writeUInt32LE(n >>> 0, 1);
  return b;
}

export function refusal(reason: string): Buffer {
  const r = Buffer.from(reason);
  const b = Buffer.alloc(5);
  b.write('R', 0, 'latin1');
  b.writeUInt32LE(r.length, 1);
  return Buffer.concat([b, r]);
}
