import { describe, expect, it } from "vitest";
import { subjectMatches } from "./subject-matches.js";

describe("subjectMatches()", () => {
  const table: [pattern: string, subject: string, matches: boolean][] = [
    ["a.b.c", "a.b.c", true],
    ["a.b.c", "a.b", false],
    ["a.b", "a.b.c", false],
    ["a.b.c", "a.b.d", false],
    ["a.*.c", "a.b.c", true],
    ["a.*.c", "a.b.x.c", false],
    ["a.*", "a", false],
    ["*", "a", true],
    ["*", "a.b", false],
    ["*.*", "a.b", true],
    ["a.>", "a.b", true],
    ["a.>", "a.b.c.d", true],
    ["a.>", "a", false],
    [">", "a", true],
    [">", "a.b.c", true],
    ["a.*.>", "a.b.c", true],
    ["a.*.>", "a.b", false],
    ["tessera.>", "tessera.registry.alias.moved", true],
    ["tessera.>", "tesserax.registry", false],
    ["tessera.registry.*", "tessera.registry", false],
    ["ab", "a", false],
    ["a", "ab", false],
  ];

  it.each(table)("pattern %j against subject %j → %s", (pattern, subject, matches) => {
    expect(subjectMatches(pattern, subject)).toBe(matches);
  });
});
