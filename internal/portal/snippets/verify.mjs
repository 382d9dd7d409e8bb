// Node.js 18+, no dependencies: node verify.mjs
import { createServer } from 'node:http';
import { createHmac, timingSafeEqual } from 'node:crypto';

const secret = process.env.WEBHOOK_SECRET; // whsec_...
const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
const toleranceSeconds = 5 * 60;

// verify checks the webhook-* headers against the raw body bytes.
function verify(headers, body) {
  const id = headers['webhook-id'];
  const timestamp = headers['webhook-timestamp'];
  const signatures = headers['webhook-signature'];
  if (!id || !timestamp || !signatures) return false;
  const ts = Number(timestamp);
  if (!Number.isInteger(ts) || Math.abs(Date.now() / 1000 - ts) > toleranceSeconds) return false;
  const expected = createHmac('sha256', key)
    .update(`${id}.${timestamp}.`)
    .update(body)
    .digest();
  // The header may hold several signatures ("v1,<base64> v1,<base64>").
  return signatures.split(' ').some((entry) => {
    const [version, sig] = entry.split(',');
    if (version !== 'v1' || !sig) return false;
    const got = Buffer.from(sig, 'base64');
    return got.length === expected.length && timingSafeEqual(got, expected);
  });
}

createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    const body = Buffer.concat(chunks); // verify the bytes as received, before JSON.parse
    if (!verify(req.headers, body)) {
      res.writeHead(400).end('invalid signature');
      return;
    }
    const event = JSON.parse(body);
    console.log('verified webhook', req.headers['webhook-id'], event.type ?? '');
    res.writeHead(204).end();
  });
}).listen(Number(process.env.PORT ?? 3000));
