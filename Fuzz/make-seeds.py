#!/usr/bin/env python3
"""Regenerates the committed seed corpora under Fuzz/corpus/<target>/ from real inputs:
policy XML and expressions from the test suites and the APIM seed page (../shared/seed), YAML from the
README and the configuration tests, certificates/CRLs from the demo PKI (./.drawbridge/pki, created by
`swift run drawbridge serve`) and a small PKITS / x509-limbo subset (../shared/conformance).
Seeds are named by content hash, so reruns are idempotent. Keeps the total well under 2 MB."""
import base64, glob, hashlib, json, os, re, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.environ.get("DRAWBRIDGE_SHARED", os.path.join(os.path.dirname(ROOT), "shared"))
OUT = os.path.join(ROOT, "Fuzz", "corpus")
MAX_SEED = 16 * 1024

def put(target, data, prefix=""):
    if isinstance(data, str):
        data = data.encode()
    if not data or len(data) > MAX_SEED:
        return
    os.makedirs(os.path.join(OUT, target), exist_ok=True)
    name = prefix + hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(OUT, target, name), "wb") as f:
        f.write(data)

ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "\\": "\\", '"': '"', "'": "'"}

def unescape(body, raw):
    if raw:
        return body
    def repl(m):
        s = m.group(1)
        if s.startswith("u{"):
            return chr(int(s[2:-1], 16))
        return ESCAPES.get(s, s)
    return re.sub(r'\\(u\{[0-9a-fA-F]+\}|.)', repl, body)

def swift_lines(path):
    return open(path, encoding="utf-8").read()

def multiline_strings(text):
    """Bodies of Swift \"\"\" and #\"\"\" literals, de-indented by the closing delimiter."""
    for m in re.finditer(r'(#?)"""\n(.*?)\n([ \t]*)"""\1', text, re.S):
        raw, body, indent = m.group(1) == "#", m.group(2), m.group(3)
        lines = [l[len(indent):] if l.startswith(indent) else l.lstrip() for l in body.split("\n")]
        yield unescape("\n".join(lines) + "\n", raw)

def single_line_strings(text):
    for m in re.finditer(r'(#?)"((?:[^"\\\n]|\\.)*)"\1', text):
        yield unescape(m.group(2), m.group(1) == "#")

def tuple_firsts(text):
    """The first element of `("source", …)` table rows (raw or escaped string)."""
    for m in re.finditer(r'\(\s*#"((?:[^"\n]|"(?!#))*)"#\s*,|\(\s*"((?:[^"\\\n]|\\.)*)"\s*,', text):
        if m.group(1) is not None:
            yield m.group(1)
        else:
            yield unescape(m.group(2), False)

# a) policy XML
seed_pages = glob.glob(os.path.join(SHARED, "seed", "*"))
for page in seed_pages:
    text = open(page, encoding="utf-8").read()
    for block in re.findall(r"```xml\n(.*?)```", text, re.S):
        put("FuzzPolicyXML", block)
        put("FuzzPolicyXML", "<policies>\n<inbound>\n<base />\n" + block + "</inbound>\n<backend><base /></backend>\n<outbound><base /></outbound>\n<on-error><base /></on-error>\n</policies>\n")
for path in sorted(glob.glob(os.path.join(ROOT, "Tests", "PoliciesTests", "**", "*.swift"), recursive=True)) + \
        sorted(glob.glob(os.path.join(ROOT, "Tests", "GatewayTests", "*.swift"))):
    text = swift_lines(path)
    for s in multiline_strings(text):
        if "<" in s and ">" in s:
            put("FuzzPolicyXML", s)
    for s in single_line_strings(text):
        if re.search(r"<[a-z-]+[ />]", s) and len(s) > 12:
            put("FuzzPolicyXML", s)

# b) expressions: first byte 0x00 = expression (evaluated), 0x01 = block (evaluated)
for path in sorted(glob.glob(os.path.join(ROOT, "Tests", "PolicyExpressionsTests", "*.swift"))):
    text = swift_lines(path)
    block = "Block" in os.path.basename(path)
    for s in tuple_firsts(text):
        if s.strip():
            put("FuzzExpression", (b"\x01" if block or s.rstrip().endswith(";") or s.rstrip().endswith("}") else b"\x00") + s.encode())
    for m in re.finditer(r'static let \w+Condition = #"(.*?)"#', text):
        put("FuzzExpression", b"\x00" + m.group(1).encode())
for page in seed_pages:
    for cond in re.findall(r'condition="@\((.*?)\)" ?>', open(page, encoding="utf-8").read()):
        put("FuzzExpression", b"\x00" + cond.encode())

# c) certificates and CRLs
pki = os.path.join(ROOT, ".drawbridge", "pki")
for path in sorted(glob.glob(os.path.join(pki, "**", "*"), recursive=True)):
    if os.path.isfile(path) and not re.search(r"key", os.path.basename(path), re.I):
        put("FuzzCertificates", open(path, "rb").read(), "pki-")
pkits = os.path.join(SHARED, "conformance", "pkits")
wanted = ["TrustAnchorRootCertificate.crt", "GoodCACert.crt", "ValidCertificatePathTest1EE.crt",
          "TrustAnchorRootCRL.crl", "GoodCACRL.crl", "nameConstraintsDN1CACert.crt", "RevokedsubCACRL.crl",
          "deltaCRLCA1CRL.crl", "deltaCRLCA1deltaCRL.crl", "ValidIDPwithindirectCRLTest22EE.crt",
          "indirectCRLCA1CRL.crl", "ValidRFC822nameConstraintsTest21EE.crt", "ValidDNnameConstraintsTest1EE.crt",
          "ValiddistributionPointTest1EE.crt", "distributionPoint1CACRL.crl", "ValidURInameConstraintsTest34EE.crt",
          "UTF8StringCaseInsensitiveMatchCACert.crt", "ValidDNSnameConstraintsTest30EE.crt",
          "InvalidcRLIssuerTest27EE.crt", "ValidonlySomeReasonsTest18EE.crt"]
for name in wanted:
    for path in glob.glob(os.path.join(pkits, "*", name)):
        put("FuzzCertificates", open(path, "rb").read(), "pkits-")
limbo = os.path.join(SHARED, "conformance", "x509-limbo", "limbo-nobettertls.json")
if os.path.exists(limbo):
    cases = json.load(open(limbo))["testcases"]
    picked = 0
    for case in cases:
        pems = case.get("trusted_certs", []) + case.get("untrusted_intermediates", []) + [case.get("peer_certificate", "")] + case.get("crls", [])
        if case.get("crls") or picked < 8:
            for pem in pems:
                if pem and len(pem) < 6000:
                    put("FuzzCertificates", pem, "limbo-")
                    m = re.search(r"-----BEGIN [A-Z0-9 ]+-----(.*?)-----END", pem, re.S)
                    if m:
                        put("FuzzCertificates", base64.b64decode("".join(m.group(1).split())), "limbo-der-")
            picked += 1
        if picked >= 14:
            break

# d) gateway YAML
readme = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
for block in re.findall(r"```yaml\n(.*?)```", readme, re.S):
    put("FuzzGatewayConfig", block)
cfg_tests = swift_lines(os.path.join(ROOT, "Tests", "GatewayConfigurationTests", "GatewayConfigLoaderTests.swift"))
for s in multiline_strings(cfg_tests):
    put("FuzzGatewayConfig", s)
for s in tuple_firsts(cfg_tests):
    if ":" in s:
        put("FuzzGatewayConfig", s)

# e) JSON (request bodies, sample contexts)
for path in sorted(glob.glob(os.path.join(ROOT, "Tests", "PolicyExpressionsTests", "*.swift"))) + \
        sorted(glob.glob(os.path.join(ROOT, "Tests", "PoliciesTests", "**", "*.swift"), recursive=True)):
    text = swift_lines(path)
    for s in list(multiline_strings(text)) + list(single_line_strings(text)):
        t = s.strip()
        if len(t) > 1 and t[0] in "{[" and t[-1] in "}]":
            try:
                json.loads(t)
                put("FuzzJSON", t)
            except Exception:
                pass
for doc in ['{"a":1,"b":[true,false,null],"c":{"d":"e\\u0041\\n"},"f":-1.5e-3}', '[]', '{}', '"s"', '12345678901234567890',
            '{"when":"2024-05-06T07:08:09Z","n":1e308,"m":-0.0}', '[[[[[[[[[[1]]]]]]]]]]',
            '{"request":{"method":"GET","headers":{"A":["1","2"]},"body":{"x":1}},"variables":{"v":1}}']:
    put("FuzzJSON", doc)

total = sum(os.path.getsize(p) for p in glob.glob(os.path.join(OUT, "*", "*")))
for target in sorted(os.listdir(OUT)):
    files = os.listdir(os.path.join(OUT, target))
    print(f"{target}: {len(files)} seeds")
print(f"total {total} bytes")
if total > 2_000_000:
    sys.exit("seed corpora exceed 2 MB")
