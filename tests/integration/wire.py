#!/usr/bin/env python3
"""A raw kehu protocol client for the integration tests (stdlib only).

Speaks TLS 1.2 to kehud with DATADIR/tls/ca.crt, frames of a 4-byte
big-endian length + one Envelope (proto/kehu.proto), and hand-encodes the
few messages the tests need, so a test can do what the real client never
does: pipeline without reading, stop half-way, send bytes that are not
UTF-8, use request id 0.

    wire.py hog HOST PORT CA USER PASSWORD COUNT LIMIT STATEFILE PIPEFILE GOFILE
    wire.py hold HOST PORT CA STAGE STATEFILE [USER PASSWORD]
    wire.py utf8 HOST PORT CA USER PASSWORD
    wire.py capped HOST PORT CA

Every wait has a deadline; the tests bound the whole run with timeout(1).
"""
import os
import socket
import ssl
import struct
import sys
import time

# ---- protobuf, by hand ------------------------------------------------------


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field_varint(num, v):
    return varint(num << 3) + varint(v)


def field_bytes(num, b):
    if isinstance(b, str):
        b = b.encode()
    return varint((num << 3) | 2) + varint(len(b)) + b


def read_varint(buf, i):
    shift = 0
    v = 0
    while True:
        b = buf[i]
        i += 1
        v |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return v, i


def decode(buf):
    """{field number: [values]}: ints for varints, bytes for the rest."""
    fields = {}
    i = 0
    while i < len(buf):
        key, i = read_varint(buf, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = read_varint(buf, i)
        elif wt == 2:
            n, i = read_varint(buf, i)
            v = bytes(buf[i:i + n])
            i += n
        elif wt == 1:
            v = bytes(buf[i:i + 8])
            i += 8
        elif wt == 5:
            v = bytes(buf[i:i + 4])
            i += 4
        else:
            raise ValueError("wire type %d" % wt)
        fields.setdefault(num, []).append(v)
    return fields


# Envelope: id = 1, hello = 2, request = 3, response = 4, event = 5.
def envelope_hello():
    return field_varint(1, 0) + field_bytes(2, field_varint(1, 1))


def envelope_request(rid, op_field, body):
    return field_varint(1, rid) + field_bytes(3, field_bytes(op_field, body))


def login(rid, user, password):
    return envelope_request(rid, 1, field_bytes(1, user) + field_bytes(2, password))


def customer_list(rid, limit):
    return envelope_request(rid, 12, field_varint(7, limit))


def customer_get(rid, cid):
    return envelope_request(rid, 11, field_bytes(1, cid))


def customer_search(rid, terms):
    return envelope_request(rid, 20, b"".join(field_bytes(1, t) for t in terms))


def whoami(rid):
    return envelope_request(rid, 3, b"")


def frame(payload):
    return struct.pack(">I", len(payload)) + payload


STATUS = {0: "OK", 1: "INTERNAL", 3: "UNAUTHENTICATED", 4: "PERMISSION_DENIED",
          5: "NOT_FOUND", 6: "CONFLICT", 7: "INVALID_ARGUMENT", 8: "UNAVAILABLE",
          9: "RESOURCE_EXHAUSTED"}


class Reply:
    """One Envelope from the server."""

    def __init__(self, payload):
        env = decode(payload)
        self.raw = payload
        self.id = env.get(1, [0])[0]
        self.kind = ("hello" if 2 in env else "response" if 4 in env
                     else "event" if 5 in env else "?")
        r = decode(env[4][0]) if 4 in env else {}
        self.status = STATUS.get(r.get(1, [None])[0], r.get(1, [None])[0])
        self.message = r.get(2, [None])[0]   # bytes, not decoded
        self.field = r.get(3, [None])[0]

    def __repr__(self):
        return "Reply(id=%d %s %s message=%r field=%r)" % (
            self.id, self.kind, self.status, self.message, self.field)


# ---- connections ------------------------------------------------------------


def tls_connect(host, port, ca, timeout=30, rcvbuf=None):
    ctx = ssl.create_default_context(cafile=ca)
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        # Set before connecting, so the window stays small: what the
        # server sends a client that does not read then waits in kehud.
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    raw.settimeout(timeout)
    raw.connect((host, int(port)))
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return ctx.wrap_socket(raw, server_hostname=host)


class Conn:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def send(self, *payloads):
        self.sock.sendall(b"".join(frame(p) for p in payloads))

    def recv(self, deadline):
        """The next Reply, or None when the server closed the connection."""
        while True:
            if len(self.buf) >= 4:
                n = struct.unpack(">I", self.buf[:4])[0]
                if len(self.buf) >= 4 + n:
                    payload = self.buf[4:4 + n]
                    self.buf = self.buf[4 + n:]
                    return Reply(payload)
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no reply in time")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except (ConnectionResetError, ssl.SSLError, BrokenPipeError):
                return None
            if not chunk:
                return None
            self.buf += chunk

    def response(self, rid, deadline):
        """The response to request rid (skips the Hello and events)."""
        while True:
            r = self.recv(deadline)
            if r is None:
                raise ConnectionError("the server closed the connection")
            if r.kind == "response" and r.id == rid:
                return r
            if r.kind == "response" and r.id == 0:
                raise ConnectionError("final error from the server: %r" % r)


def logged_in(host, port, ca, user, password, rcvbuf=None):
    c = Conn(tls_connect(host, port, ca, rcvbuf=rcvbuf))
    c.send(envelope_hello(), login(1, user, password))
    r = c.response(1, time.monotonic() + 60)
    if r.status != "OK":
        raise SystemExit("login as %s failed: %r" % (user, r))
    return c


def write_state(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text + "\n")
    os.rename(path + ".tmp", path)


def wait_for_file(path, seconds):
    deadline = time.monotonic() + seconds
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise SystemExit("%s did not appear within %d s" % (path, seconds))
        time.sleep(0.05)


# ---- what the tests run -----------------------------------------------------


def cmd_hog(host, port, ca, user, password, count, limit, state, pipe, go):
    """Logs in and says 'ready' in STATEFILE (the password check's memory is
    back with the system by then); once PIPEFILE exists pipelines COUNT
    CustomerList{limit} requests without reading a byte and says 'sent N';
    once GOFILE exists reads every reply: a server that pushes back instead
    of cutting the client off answers them all."""
    count, limit = int(count), int(limit)
    c = logged_in(host, port, ca, user, password, rcvbuf=65536)
    write_state(state, "ready")
    wait_for_file(pipe, 600)
    data = b"".join(frame(customer_list(100 + i, limit)) for i in range(count))
    # The server may stop reading from us (that is the point): send what
    # it takes, with a deadline, and count it.
    c.sock.settimeout(5)
    sent = 0
    try:
        while sent < len(data):
            sent += c.sock.send(data[sent:sent + 16384])
    except (socket.timeout, TimeoutError):
        pass
    frames_sent = count if sent == len(data) else sent // len(frame(customer_list(100, limit)))
    write_state(state, "sent %d %d" % (frames_sent, sent))
    wait_for_file(go, 600)
    # Everything sent is answered, in any order.
    deadline = time.monotonic() + 300
    if sent < len(data):
        c.sock.settimeout(300)
        c.sock.sendall(data[sent:])
    got = 0
    ok = 0
    while got < count:
        r = c.recv(deadline)
        if r is None:
            break
        if r.kind != "response":
            continue
        if r.id == 0:
            print("final error: %r" % r, file=sys.stderr)
            break
        got += 1
        ok += r.status == "OK"
    print("replies %d ok %d" % (got, ok))
    c.sock.close()


def cmd_hold(host, port, ca, stage, state, user=None, password=None):
    """Opens a connection and stops at STAGE: tcp (no TLS), tls (no Hello),
    hello (no login) or login (logged in). Writes 'open' to STATEFILE, then
    waits for the server to close it and writes 'closed SECONDS' (how long
    after the stage was reached) or 'error ...' for a final error frame."""
    t0 = time.monotonic()
    if stage == "tcp":
        s = socket.create_connection((host, int(port)), timeout=30)
        write_state(state, "open")
        t0 = time.monotonic()
        s.settimeout(600)
        try:
            while s.recv(4096):
                pass
        except (ConnectionResetError, socket.timeout):
            pass
        write_state(state, "closed %.1f" % (time.monotonic() - t0))
        return
    c = Conn(tls_connect(host, port, ca))
    if stage in ("hello", "login"):
        c.send(envelope_hello())
    if stage == "login":
        c.send(login(1, user, password))
        r = c.response(1, time.monotonic() + 60)
        if r.status != "OK":
            write_state(state, "error login %s" % r.status)
            return
    write_state(state, "open")
    t0 = time.monotonic()
    outcome = "closed"
    rid = 10
    deadline = time.monotonic() + 600
    while True:
        if stage == "login":
            # A logged-in connection keeps working: a request every second.
            c.send(whoami(rid))
            try:
                r = c.response(rid, time.monotonic() + 60)
            except ConnectionError as e:
                outcome = "error %s" % e
                break
            if r.status != "OK":
                outcome = "error whoami %s" % r.status
                break
            rid += 1
            write_state(state, "open %d" % rid)
            time.sleep(1)
            if time.monotonic() > deadline:
                break
            continue
        try:
            r = c.recv(deadline)
        except TimeoutError:
            break
        if r is None:
            break
        if r.kind == "response" and r.id == 0:
            outcome = "error %s %s" % (r.status, (r.message or b"").decode("utf-8", "replace"))
    write_state(state, "%s closed %.1f" % (outcome, time.monotonic() - t0)
                if outcome.startswith("error") else "closed %.1f" % (time.monotonic() - t0))


def cmd_capped(host, port, ca):
    """Connects and reports the server's first non-Hello frame (a final
    error when a connection cap is reached), or 'none'."""
    c = Conn(tls_connect(host, port, ca))
    c.send(envelope_hello())
    deadline = time.monotonic() + 30
    while True:
        r = c.recv(deadline)
        if r is None:
            print("none")
            return
        if r.kind == "hello":
            continue
        print("%s %d %s" % (r.status, r.id, (r.message or b"").decode("utf-8", "replace")))
        return


def check_utf8(what, r):
    """Message and field of r decode as strict UTF-8."""
    for name, v in (("message", r.message), ("field", r.field)):
        if v is None:
            continue
        try:
            v.decode("utf-8")
        except UnicodeDecodeError as e:
            raise SystemExit("%s: Response.%s is not valid UTF-8 (%s): %r" % (what, name, e, v))


def cmd_utf8(host, port, ca, user, password):
    """Requests with bytes that are not UTF-8, and one with id 0; prints one
    line per reply: NAME STATUS FIELD MESSAGE."""
    c = logged_in(host, port, ca, user, password)
    deadline = time.monotonic() + 60
    cases = [
        ("get_bad_utf8", customer_get(2, b"\xff\xfe")),
        ("get_bad_utf8_long", customer_get(3, b"C2024\xc3\x28\xe2\x82" + b"\x80" * 3)),
        ("get_malformed", customer_get(4, "no-such-id")),
        ("search_bad_utf8", customer_search(5, [b"ok", b"\xe4\xb8"])),
        ("search_bad_utf8_only", customer_search(6, [b"\xc0\xaf"])),
    ]
    for name, payload in cases:
        c.send(payload)
        rid = decode(payload)[1][0]
        r = c.response(rid, deadline)
        check_utf8(name, r)
        print("%s %s %s %s" % (name, r.status, (r.field or b"").decode(),
                               (r.message or b"").decode()))
    # Request id 0 is reserved for Hello and events.
    c.send(whoami(0))
    r = c.recv(deadline)
    while r is not None and r.kind != "response":
        r = c.recv(deadline)
    if r is None:
        print("id0 closed-without-frame")
        return
    check_utf8("id0", r)
    print("id0 %s id=%d %s" % (r.status, r.id, (r.message or b"").decode()))
    after = c.recv(deadline)
    print("id0-then %s" % ("closed" if after is None else repr(after)))


def main(argv):
    cmds = {"hog": cmd_hog, "hold": cmd_hold, "utf8": cmd_utf8, "capped": cmd_capped}
    if len(argv) < 2 or argv[1] not in cmds:
        raise SystemExit(__doc__)
    cmds[argv[1]](*argv[2:])


if __name__ == "__main__":
    main(sys.argv)
