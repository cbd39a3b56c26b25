// The challenges of a `WWW-Authenticate` header (RFC 9110 §11.6.1), as a camera sends them with its 401. A
// camera may offer several (Digest with SHA-256 and with MD5, Basic) in one header or in several, which
// fetch joins with ", ": so a scheme is told from a parameter by what follows its name (`=` or not).

export interface Challenge {
  /** The scheme, lower-case: `digest`, `basic`, … */
  readonly scheme: string;
  /** Its parameters, names lower-case, quoted values unquoted. */
  readonly params: Readonly<Record<string, string>>;
}

const TOKEN = /[!#$%&'*+\-.^_`|~0-9A-Za-z]+/y;
/** A token68 standing alone (followed by a comma or the end), so not the name of a parameter. */
const TOKEN68_ALONE = /^([A-Za-z0-9\-._~+/]+=*)\s*(?:,|$)/;

/** Every challenge in the header, in order; text it cannot read ends the list rather than throwing. */
export function parseChallenges(header: string): Challenge[] {
  const challenges: { scheme: string; params: Record<string, string> }[] = [];
  let i = 0;
  const skip = (chars: RegExp) => {
    while (i < header.length && chars.test(header[i]!)) i++;
  };
  const token = (): string | null => {
    TOKEN.lastIndex = i;
    const m = TOKEN.exec(header);
    if (!m) return null;
    i = TOKEN.lastIndex;
    return m[0];
  };
  const quoted = (): string | null => {
    if (header[i] !== '"') return null;
    let out = '';
    for (i++; i < header.length; i++) {
      const c = header[i]!;
      if (c === '\\' && i + 1 < header.length) out += header[++i];
      else if (c === '"') {
        i++;
        return out;
      } else out += c;
    }
    return null;
  };
  while (i < header.length) {
    skip(/[\s,]/);
    const name = token();
    if (name === null) break;
    skip(/[ \t]/);
    const current = challenges.at(-1);
    if (header[i] === '=' && current) {
      i++;
      skip(/[ \t]/);
      const value = header[i] === '"' ? quoted() : token();
      if (value === null) break;
      current.params[name.toLowerCase()] = value;
      continue;
    }
    // A new challenge; a token68 after it (Negotiate's blob, never a camera's) is kept as `token68`.
    const challenge = { scheme: name.toLowerCase(), params: {} as Record<string, string> };
    challenges.push(challenge);
    const blob = TOKEN68_ALONE.exec(header.slice(i));
    if (blob) {
      challenge.params.token68 = blob[1]!;
      i += blob[1]!.length;
    }
  }
  return challenges;
}
