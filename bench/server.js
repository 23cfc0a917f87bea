// The lab's Node stack, for `cargo xtask bench relay`: POST /api/claims validates the claim
// and appends its `claim_submitted` event with the relay's own append script (the bench
// writes its source to APPEND_LUA), the way the lab's Node code would. It prints its port.
'use strict';

const fs = require('node:fs');
const crypto = require('node:crypto');
const express = require('express');
const Redis = require('ioredis');

const redis = new Redis(process.env.REDIS_URL);
// EVALSHA, loading the script on NOSCRIPT: the same call the relay makes.
redis.defineCommand('appendEvent', {
  numberOfKeys: 3,
  lua: fs.readFileSync(process.env.APPEND_LUA, 'utf8'),
});

const TAG = '{claims:events}';
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

function claimId() {
  const bytes = crypto.randomBytes(10);
  let id = 'CLM-';
  for (const b of bytes) id += ALPHABET[b % ALPHABET.length];
  return id;
}

function invalid(res, field, message) {
  res.status(422).json({ error: { code: 'validation_failed', message: `${field}: ${message}` } });
}

const app = express();
app.use(express.json({ limit: '64kb' }));

app.post('/api/claims', async (req, res) => {
  const { customer_id, amount, description, currency = 'USD', policy_number } = req.body ?? {};
  if (typeof customer_id !== 'string' || !/^[A-Z0-9-]{1,32}$/.test(customer_id)) {
    return invalid(res, 'customer_id', 'letters, digits and dashes, 1 to 32');
  }
  if (typeof amount !== 'string' || !/^\d{1,10}\.\d{2}$/.test(amount) || Number(amount) <= 0) {
    return invalid(res, 'amount', 'a positive amount with two decimals, like 5000.00');
  }
  if (typeof description !== 'string' || description.trim().length < 1 || description.length > 2000) {
    return invalid(res, 'description', '1 to 2000 characters');
  }
  const id = claimId();
  // What caused the entry, as the relay names it: this request.
  const cause = `req-${claimId().slice(4)}`;
  const timestamp = new Date().toISOString();
  const fields = ['type', 'claim_submitted', 'v', '2', 'claim_id', id, 'customer_id', customer_id,
    'timestamp', timestamp, 'amount', amount, 'description', description, 'currency', currency];
  if (policy_number) fields.push('policy_number', String(policy_number));
  try {
    const [outcome, entryId] = await redis.appendEvent(
      'claims:events', `claims:${TAG}:history:${id}`, `claims:${TAG}:indexed`,
      '0', id, '', `claims:${TAG}:history:`, '1000', '', cause, ...fields);
    if (outcome !== 'ok') {
      return res.status(409).json({ error: { code: 'version_conflict', message: `append answered ${outcome}` } });
    }
    res.status(201).json({
      claim_id: id,
      entry_id: entryId,
      claim: { claim_id: id, customer_id, amount, currency, description, status: 'submitted', version: 1, submitted_at: timestamp },
    });
  } catch (err) {
    res.status(503).json({ error: { code: 'redis_unavailable', message: `cannot reach Redis: ${err.message}` } });
  }
});

const server = app.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  console.log(`listening on ${server.address().port}`);
});
process.on('SIGTERM', () => { server.close(); redis.disconnect(); });
