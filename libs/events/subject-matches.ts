/**
 * Whether NATS subject `subject` matches `pattern`, where `*` stands for
 * exactly one token and a final `>` for one or more. Pure, for the embedded
 * bus and for deciding what a stream captures; both arguments are assumed
 * valid (see validateSubject).
 */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split(".");
  const s = subject.split(".");
  for (let i = 0; i < p.length; i++) {
    const token = p[i];
    if (token === ">") return s.length > i;
    if (i >= s.length) return false;
    if (token !== "*" && token !== s[i]) return false;
  }
  return p.length === s.length;
}
