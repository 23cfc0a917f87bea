// What the lab's own Node.js code writes to claims:events, as the lab teaches it
// (node-redis v4): a marker when the stream is created, a submission, the automatic
// approval, the payment, a second producer's dotted event_type, and a dead letter.
// Usage: REDIS_URL=redis://127.0.0.1:6379 node lab.js <claim id>
// Prints the ids it appended, as JSON.
const { createClient } = require('redis');

async function main() {
  const claimId = process.argv[2];
  const client = createClient({ url: process.env.REDIS_URL });
  await client.connect();
  const now = () => new Date().toISOString();
  const ids = {};

  ids.created = await client.xAdd('claims:events', '*', {
    type: 'stream_created',
    timestamp: Date.now().toString(),
  });
  ids.submitted = await client.xAdd('claims:events', '*', {
    type: 'claim_submitted',
    claim_id: claimId,
    customer_id: 'CUST-NODE',
    policy_number: 'POL-2024-001',
    amount: '1500',
    description: 'Rear bumper',
    incident_date: '2024-11-20',
    submitted_at: now(),
    status: 'pending',
  });
  // updateClaimStatus(claimId, 'auto_approved', {...}): no customer_id.
  ids.approved = await client.xAdd('claims:events', '*', {
    type: 'claim_status_updated',
    claim_id: claimId,
    status: 'auto_approved',
    updated_at: now(),
    approved_amount: '1500',
    reviewer: 'auto_system',
    approved_at: now(),
  });
  ids.paid = await client.xAdd('claims:events', '*', {
    type: 'claim_paid',
    claim_id: claimId,
    amount: '1500',
    payment_method: 'bank_transfer',
    paid_at: now(),
    status: 'paid',
  });
  // The second producer style.
  ids.dotted = await client.xAdd('claims:events', '*', {
    event_type: 'claim.submitted',
    claim_id: `${claimId}_b`,
    customer_id: 'CUST-DOT',
    amount: '250',
    timestamp: Date.now().toString(),
  });
  // moveToDeadLetter(message, error): the reason, then every field of the original.
  ids.letter = await client.xAdd('claims:failed', '*', {
    original_id: ids.paid,
    error_message: 'notification service unavailable',
    failed_at: now(),
    type: 'claim_paid',
    claim_id: claimId,
    amount: '1500',
    payment_method: 'bank_transfer',
    status: 'paid',
  });
  console.log(JSON.stringify(ids));
  await client.quit();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
