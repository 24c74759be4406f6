/** cli/format: the USER column of `warren clients` (issue 7: per-user accounting). */
import { expect, test } from "bun:test";
import { formatClients } from "../../../src/cli/format.ts";
import { client, snapshot } from "../../lib/snapshot-fixture.ts";

test("clients: a USER column appears when someone logged in as a user or with a token", () => {
  const lines = formatClients(snapshot([client({ user: "alice" }), client({ id: "tab", address: "10.8.0.3" })])).split("\n");
  expect(lines[0]).toMatch(/^ID\s+USER\s+PROTO\s+ENDPOINT\s+ADDRESS\s/);
  expect(lines[1]).toMatch(/^phone1\s+alice\s+toyvpn\s+192\.0\.2\.10:40001/);
  expect(lines[2]).toMatch(/^tab\s+-\s+toyvpn\s+192\.0\.2\.10:40001/);
  expect(formatClients(snapshot([client()])).split("\n")[0]).not.toContain("USER");
});
