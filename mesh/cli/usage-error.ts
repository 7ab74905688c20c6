/**
 * A command line that cannot be run as given (a bad value, a missing or
 * contradictory option), found before anything is sent. Exit status 2, as
 * for the errors commander finds itself.
 */
export class UsageError extends Error {
  override name = "UsageError";
}
