"""Prints an HS256 agent token for the bench configs: a day long, one grant covering every
record (max_sensitivity 4). Usage: python3 benches/agent_token.py SECRET"""
import base64, hashlib, hmac, json, sys, time

b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
body = b64(json.dumps({"sub": "bench-agent", "exp": int(time.time()) + 86400,
                       "grants": [{"max_sensitivity": 4}]}).encode())
sig = b64(hmac.new(sys.argv[1].encode(), f"{head}.{body}".encode(), hashlib.sha256).digest())
print(f"{head}.{body}.{sig}")
