import { invalidArgument } from "../errors/index.js";

// Printable ASCII without space, dot or wildcards: what NATS accepts in a token and tooling shows cleanly.
const tokenPattern = /^[!-~]+$/;

function problemWith(subject: string, wildcards: boolean): string | undefined {
  if (subject === "") return "it is empty";
  const tokens = subject.split(".");
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] as string;
    if (t === "") return "it has an empty token (a dot at either end, or two dots in a row)";
    if (t === "*" || t === ">") {
      if (!wildcards) return "a subject to publish on cannot contain the wildcards * or >";
      if (t === ">" && i !== tokens.length - 1) return "> may only be the last token";
      continue;
    }
    if (!tokenPattern.test(t) || t.includes("*") || t.includes(">")) {
      return `token "${t}" has spaces, control characters, non-ASCII or a wildcard inside a word`;
    }
  }
  return undefined;
}

/** Throws INVALID_ARGUMENT unless `subject` is a concrete NATS subject to publish on. */
export function validateSubject(subject: string): void {
  const problem = problemWith(subject, false);
  if (problem) throw invalidArgument(`invalid subject "${subject}": ${problem}`);
}

/** Throws INVALID_ARGUMENT unless `pattern` is a NATS subject, possibly with `*` and `>` wildcards. */
export function validateSubjectPattern(pattern: string): void {
  const problem = problemWith(pattern, true);
  if (problem) throw invalidArgument(`invalid subject pattern "${pattern}": ${problem}`);
}
