/**
 * @module args.test
 * parseCommand (src/cli/args.ts): values keyed by config key, flags named as typed,
 * negative numbers as values and positionals, and warren's one-line messages (never
 * parseArgs' own) for unknown options, missing values, values that look like options,
 * and values on boolean flags.
 */
import { describe, expect, test } from "bun:test";
import { type OptionSpec, parseCommand } from "../../../src/cli/args.ts";
import { ConfigError } from "../../../src/lib/errors.ts";

const SPEC: OptionSpec = {
  listen: { type: "string", short: "l" },
  secret: { type: "string" },
  "max-clients": { type: "string", key: "maxClients" },
  dns: { type: "string", multiple: true },
  isolate: { type: "boolean" },
};

function message(argv: string[]): string {
  try {
    parseCommand(argv, SPEC, "server");
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as ConfigError).field).toBe("");
    return (e as Error).message;
  }
  throw new Error(`no error for ${argv.join(" ")}`);
}

describe("parseCommand", () => {
  test("values by config key, repeatable flags, positionals, names as typed", () => {
    const r = parseCommand(["-l", "[::]:9000", "--max-clients=5", "--dns", "a", "--dns", "b", "--isolate", "pos"], SPEC, "server");
    expect(r.values).toEqual({ listen: "[::]:9000", maxClients: "5", dns: ["a", "b"], isolate: true });
    expect(r.positionals).toEqual(["pos"]);
    expect(r.names).toMatchObject({ listen: "-l", maxClients: "--max-clients", dns: "--dns", secret: "--secret" });
  });

  test("a negative number is a value, or a positional", () => {
    expect(parseCommand(["--max-clients", "-1"], SPEC).values).toEqual({ maxClients: "-1" });
    expect(parseCommand(["-l", "-1"], SPEC).values).toEqual({ listen: "-1" });
    expect(parseCommand(["set", "max-clients", "-15", "x"], SPEC).positionals).toEqual(["set", "max-clients", "-15", "x"]);
    expect(parseCommand(["--", "--isolate"], SPEC).positionals).toEqual(["--isolate"]);
  });

  test("a value that starts with a dash is taken when written --flag=VALUE", () => {
    expect(parseCommand(["--secret=-x-"], SPEC).values).toEqual({ secret: "-x-" });
    expect(parseCommand(["--listen", "-"], SPEC).values).toEqual({ listen: "-" });
  });

  test("the messages: one line, the option as typed, the value echoed (never a secret)", () => {
    expect(message(["--nope"])).toBe("--nope: unknown option (see warren server --help)");
    expect(message(["--nope=3"])).toBe("--nope: unknown option (see warren server --help)");
    expect(message(["-x"])).toBe("-x: unknown option (see warren server --help)");
    expect(message(["--secret"])).toBe("--secret: expected a value");
    expect(message(["-l"])).toBe("-l: expected a value");
    expect(message(["--listen", "--isolate"])).toBe('--listen: expected a value; for one that starts with "-", write --listen=VALUE (got "--isolate")');
    expect(message(["--secret", "-hunter2"])).toBe('--secret: expected a value; for one that starts with "-", write --secret=VALUE');
    expect(message(["--isolate=yes"])).toBe('--isolate: takes no value (got "yes")');
  });

  test("without a command name the hint is left out", () => {
    expect(() => parseCommand(["--nope"], SPEC)).toThrow(/^--nope: unknown option$/);
  });
});
