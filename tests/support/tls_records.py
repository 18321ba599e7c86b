"""A TLS client that decides how its records reach the server's socket: several records in one
write (pipelining), a record cut into pieces sent apart, records larger than the server's
read-ahead. For tests of the server's receive path (src/http/readahead.c).
Usage: tls_records.py CA_FILE PORT MODE BODY_FILE
  MODE together N   N POST /mutate requests, each its own TLS record, written in one sendall
       slow N       the same from a thread, with a 4 KB receive buffer, and the answers read only
                    a second later: the server's socket fills, its sends come back short or
                    EAGAIN and must resume in order
       pieces       one request whose records arrive in pieces of 1, 3, 2, 100 bytes and the rest,
                    50 ms apart (the 5-byte record header itself split)
Prints one line per response: its status code and body length; exits 1 when fewer responses
than requests arrive within 60 s."""
import socket, ssl, sys, threading, time

ca, port, mode, body_file = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
n = int(sys.argv[5]) if len(sys.argv) > 5 else 1
body = open(body_file, "rb").read()
req = (b"POST /mutate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
       b"Content-Length: %d\r\n\r\n" % len(body)) + body

ctx = ssl.create_default_context(cafile=ca)
ctx.check_hostname = False
sock = socket.socket()
if mode == "slow":
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
sock.settimeout(60)
sock.connect(("127.0.0.1", port))
inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
tls = ctx.wrap_bio(inc, out)


def flush():
    data = out.read()
    if data:
        sock.sendall(data)


def feed():
    data = sock.recv(65536)
    if not data:
        raise EOFError("server closed the connection")
    inc.write(data)


while True:
    try:
        tls.do_handshake()
        break
    except ssl.SSLWantReadError:
        flush()
        feed()
flush()

records = []
many = mode in ("together", "slow")
for _ in range(n if many else 1):
    tls.write(req)
    records.append(out.read())  # this request's records, in the order they were made
if mode == "together":
    sock.sendall(b"".join(records))
elif mode == "slow":
    threading.Thread(target=sock.sendall, args=(b"".join(records),), daemon=True).start()
    time.sleep(1)
else:
    data = records[0]
    cuts = [1, 3, 2, 100]
    at = 0
    for c in cuts:
        sock.sendall(data[at:at + c])
        at += c
        time.sleep(0.05)
    sock.sendall(data[at:])

buf = b""
got = []
deadline = time.time() + 60
while len(got) < (n if many else 1) and time.time() < deadline:
    try:
        buf += tls.read(65536)
    except ssl.SSLWantReadError:
        try:
            feed()
        except (socket.timeout, EOFError):
            break
        continue
    while b"\r\n\r\n" in buf:
        head, rest = buf.split(b"\r\n\r\n", 1)
        length = 0
        for line in head.split(b"\r\n")[1:]:
            k, _, v = line.partition(b":")
            if k.strip().lower() == b"content-length":
                length = int(v)
        if len(rest) < length:
            break
        got.append((int(head.split(b" ")[1]), length))
        buf = rest[length:]
for code, length in got:
    print(code, length)
sys.exit(0 if len(got) == (n if many else 1) else 1)
