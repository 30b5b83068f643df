// Drives the npm package piston-client for tests/compat/test_piston.py: reads one JSON request
// {"server", "call": "runtimes" | "execute", "args": [...]} on stdin, makes that call with the
// client (as an application would), and prints the client's answer as JSON on stdout.
import piston from "piston-client";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const request = JSON.parse(Buffer.concat(chunks).toString("utf8"));
const client = piston({ server: request.server });
const answer =
  request.call === "runtimes" ? await client.runtimes() : await client.execute(...request.args);
if (answer && answer.success === false) {
  // The client's own failure (it never throws): keep its message readable.
  answer.error = String(answer.error);
}
process.stdout.write(JSON.stringify(answer));
