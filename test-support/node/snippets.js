// Runs snippets of node-redis v4 code, one after another, with a connected `client`.
// Usage: REDIS_URL=redis://127.0.0.1:6379 node snippets.js < snippets.json (an array of code)
// Prints, as JSON, one `{ "error": null | "..." }` per snippet.
const { createClient } = require('redis');

const AsyncFunction = (async () => {}).constructor;

async function main() {
  const snippets = JSON.parse(require('fs').readFileSync(0, 'utf8'));
  const client = createClient({ url: process.env.REDIS_URL });
  await client.connect();
  const results = [];
  for (const code of snippets) {
    try {
      await new AsyncFunction('client', code)(client);
      results.push({ error: null });
    } catch (e) {
      results.push({ error: String(e.message || e) });
    }
  }
  await client.quit();
  process.stdout.write(JSON.stringify(results));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
