# Python 3.9+, standard library only: python3 verify.py
import base64, hashlib, hmac, json, os, time
from http.server import BaseHTTPRequestHandler, HTTPServer

SECRET = os.environ["WEBHOOK_SECRET"]  # whsec_...
KEY = base64.b64decode(SECRET.removeprefix("whsec_"))
TOLERANCE_SECONDS = 5 * 60


def verify(headers, body: bytes) -> bool:
    """Checks the webhook-* headers against the raw body bytes."""
    msg_id = headers.get("webhook-id")
    timestamp = headers.get("webhook-timestamp")
    signatures = headers.get("webhook-signature")
    if not (msg_id and timestamp and signatures):
        return False
    try:
        ts = int(timestamp)
    except ValueError:
        return False
    if abs(time.time() - ts) > TOLERANCE_SECONDS:
        return False
    mac = hmac.new(KEY, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256)
    expected = base64.b64encode(mac.digest())
    # The header may hold several signatures ("v1,<base64> v1,<base64>").
    for entry in signatures.split(" "):
        version, _, sig = entry.partition(",")
        if version == "v1" and hmac.compare_digest(sig.encode(), expected):
            return True
    return False


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if not verify(self.headers, body):  # before json.loads
            self.send_response(400)
            self.end_headers()
            return
        event = json.loads(body)
        print("verified webhook", self.headers["webhook-id"], event.get("type", ""))
        self.send_response(204)
        self.end_headers()

    do_PUT = do_POST


HTTPServer(("", int(os.environ.get("PORT", "3000"))), Handler).serve_forever()
