"""Independent OAuth 1.0a HMAC-SHA256 signer, to check rosterbridge's Rust signer against.

Reads a JSON list of cases on stdin, prints a JSON object {"implementation": ..., "signatures": [...]}.
Argument: "oauthlib" (fails if it is not importable), "stdlib", or "auto" (oauthlib when importable).
The stdlib signer is written from RFC 5849 section 3.4 only, and first proves itself on the RFC's
own HMAC-SHA1 example (section 1.2) before signing anything.
"""
import base64, hashlib, hmac, json, sys
from urllib.parse import urlsplit, parse_qsl, quote


def enc(s):
    return quote(s.encode("utf-8"), safe="-._~")


def stdlib_sign(case, digest=hashlib.sha256, method_name="HMAC-SHA256"):
    parts = urlsplit(case["url"])
    params = parse_qsl(parts.query, keep_blank_values=True)
    params += [("oauth_consumer_key", case["key"]), ("oauth_nonce", case["nonce"]),
               ("oauth_signature_method", method_name), ("oauth_timestamp", case["timestamp"]),
               ("oauth_version", "1.0")]
    if case.get("token"):
        params.append(("oauth_token", case["token"]))
    normalized = "&".join("%s=%s" % kv for kv in sorted((enc(k), enc(v)) for k, v in params))
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    port = parts.port
    if port and not ((scheme == "http" and port == 80) or (scheme == "https" and port == 443)):
        host = "%s:%d" % (host, port)
    base_uri = "%s://%s%s" % (scheme, host, parts.path or "/")
    base = "&".join([case["method"].upper(), enc(base_uri), enc(normalized)])
    key = enc(case["secret"]) + "&" + enc(case.get("token_secret", ""))
    return base64.b64encode(hmac.new(key.encode(), base.encode(), digest).digest()).decode()


def self_check():
    rfc = {"method": "GET", "url": "http://photos.example.net/photos?file=vacation.jpg&size=original",
           "key": "dpf43f3p2l4k3l03", "secret": "kd94hf93k423kf44", "token": "nnch734d00sl2jdk",
           "token_secret": "pfkkdhi9sl3r4s00", "nonce": "chapoH", "timestamp": "137131202"}
    # RFC 5849 section 1.2 leaves oauth_version out; sign it the RFC's way.
    parts = urlsplit(rfc["url"])
    params = parse_qsl(parts.query) + [("oauth_consumer_key", rfc["key"]), ("oauth_token", rfc["token"]),
                                       ("oauth_signature_method", "HMAC-SHA1"), ("oauth_timestamp", rfc["timestamp"]),
                                       ("oauth_nonce", rfc["nonce"])]
    normalized = "&".join("%s=%s" % kv for kv in sorted((enc(k), enc(v)) for k, v in params))
    base = "&".join(["GET", enc("http://photos.example.net/photos"), enc(normalized)])
    key = enc(rfc["secret"]) + "&" + enc(rfc["token_secret"])
    sig = base64.b64encode(hmac.new(key.encode(), base.encode(), hashlib.sha1).digest()).decode()
    assert sig == "MdpQcU8iPSUjWoN/UDMsK2sui9I=", sig


def oauthlib_sign(case):
    from oauthlib.oauth1 import Client, SIGNATURE_HMAC_SHA256
    from urllib.parse import unquote
    client = Client(case["key"], client_secret=case["secret"], resource_owner_key=case.get("token") or None,
                    resource_owner_secret=case.get("token_secret") or None,
                    signature_method=SIGNATURE_HMAC_SHA256, nonce=case["nonce"], timestamp=case["timestamp"])
    _, headers, _ = client.sign(case["url"], http_method=case["method"])
    auth = headers["Authorization"]
    for part in auth[len("OAuth "):].split(","):
        k, v = part.strip().split("=", 1)
        if k == "oauth_signature":
            return unquote(v.strip('"'))
    raise SystemExit("oauthlib produced no signature")


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "auto"
    cases = json.load(sys.stdin)
    use_oauthlib = False
    if mode in ("auto", "oauthlib"):
        try:
            import oauthlib  # noqa: F401
            use_oauthlib = True
        except ImportError:
            if mode == "oauthlib":
                raise
    if use_oauthlib:
        import oauthlib
        out = {"implementation": "oauthlib " + oauthlib.__version__, "signatures": [oauthlib_sign(c) for c in cases]}
    else:
        self_check()
        out = {"implementation": "python stdlib (RFC 5849)", "signatures": [stdlib_sign(c) for c in cases]}
    json.dump(out, sys.stdout)


main()
