"""A weekly profile's annotation text (ml-autoscaling.io/forecast-profile) as a leader writes
it, encoded here independently of the C codec from the format in include/mla/fc.h
(src/forecast/profile_codec.c): a check that the format is what it says, and a way for tests
and benchmarks to plant one. Usage: profile_text.py CONFIG_TEXT NEWEST_UNIX_S
The profile: a daily sine around 60 per step (log1p), counts 12-20 (all 168 hours present)."""
import base64, json, math, struct, sys


def profile_key(cfg):
    """FNV-1a of what the profile is learnt from, the config's query and step
    (mla_predict_profile_key)."""
    d = json.loads(cfg)
    ident = "v2\n%s\n%.17g" % (d.get("query") or "", float(d.get("stepSeconds", 300)))
    h = 1469598103934665603
    for b in ident.encode():
        h = ((h ^ b) * 1099511628211) & (2**64 - 1)
    return h


def profile_text(cfg, t):
    h = profile_key(cfg)
    f32 = lambda x: struct.unpack("<f", struct.pack("<f", x))[0]
    v = [f32(math.log1p(60 + 40 * math.sin(i * 2 * math.pi / 24))) for i in range(168)]
    n = [12 + i % 9 for i in range(168)]
    lo, hi = min(v), max(v)
    q = [math.floor((x - lo) / (hi - lo) * 4095 + 0.5) for x in v]
    b = bytearray(struct.pack("<ff", lo, hi))
    for i in range(0, 168, 2):
        b += bytes([q[i] >> 4, (q[i] & 15) << 4 | q[i + 1] >> 8, q[i + 1] & 255])
    for i in range(0, 168, 4):
        w = n[i] << 18 | n[i + 1] << 12 | n[i + 2] << 6 | n[i + 3]
        b += bytes([w >> 16, (w >> 8) & 255, w & 255])
    return "v1 %d %016x %s" % (t, h, base64.b64encode(bytes(b)).decode())


if __name__ == "__main__":
    print(profile_text(sys.argv[1], int(sys.argv[2])))
