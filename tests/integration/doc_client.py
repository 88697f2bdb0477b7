#!/usr/bin/env python3
"""A kehu client written only from docs/protocol.md and proto/kehu.proto.

    doc_client.py HOST:PORT CA_FILE USER CUSTOMER_ID

The password is read from the environment (KEHU_PASSWORD); kehu_pb2 (made
by `protoc --python_out` from proto/kehu.proto) must be importable. Connects
over TLS 1.2 verifying the server against CA_FILE, exchanges Hello, logs in
with the password and gets one customer, pipelining the two requests
(docs/protocol.md#worked-example). Prints the customer's name and exits 0;
on an error prints "STATUS: message" on stderr and exits with the status's
number, as the kehu CLI does (docs/protocol.md#status-codes).
"""
import os
import socket
import ssl
import struct
import sys

import kehu_pb2 as pb

PROTOCOL_VERSION = 1
MAX_FRAME = 4 * 1024 * 1024


def send(tls, env):
    body = env.SerializeToString()
    tls.sendall(struct.pack(">I", len(body)) + body)


def read_exactly(tls, n):
    data = b""
    while len(data) < n:
        chunk = tls.recv(n - len(data))
        if not chunk:
            raise ConnectionError("the server closed the connection")
        data += chunk
    return data


def receive(tls):
    (length,) = struct.unpack(">I", read_exactly(tls, 4))
    if length == 0 or length > MAX_FRAME:
        raise ConnectionError("bad frame length %d" % length)
    env = pb.Envelope()
    env.ParseFromString(read_exactly(tls, length))
    return env


def request(req_id, **op):
    env = pb.Envelope(id=req_id)
    for name, message in op.items():
        getattr(env.request, name).CopyFrom(message)
    return env


def fail(response):
    print("%s: %s" % (pb.Status.Name(response.status), response.message), file=sys.stderr)
    return response.status


def main():
    server, ca_file, user, customer_id = sys.argv[1:5]
    host, port = server.rsplit(":", 1)
    timeout = 10 * int(os.environ.get("KEHU_TIME_FACTOR", "1"))

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)   # verifies chain and host
    ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_verify_locations(ca_file)
    with socket.create_connection((host, int(port)), timeout=timeout) as raw, \
            ctx.wrap_socket(raw, server_hostname=host) as tls:
        send(tls, pb.Envelope(id=0, hello=pb.Hello(protocol_version=PROTOCOL_VERSION,
                                                   software="doc_client.py")))
        hello = receive(tls)
        if hello.WhichOneof("body") != "hello":
            raise ConnectionError("the server's first frame is not a Hello")

        login = pb.LoginRequest(username=user, password=os.environ["KEHU_PASSWORD"])
        send(tls, request(1, login=login))
        send(tls, request(2, customer_get=pb.CustomerGet(id=customer_id)))

        responses = {}
        while len(responses) < 2:
            env = receive(tls)
            if env.WhichOneof("body") != "response":
                continue                      # an event: not asked for here
            if env.id == 0:                   # a final error: the server closes
                return fail(env.response)
            responses[env.id] = env.response

    if responses[1].status != pb.OK:
        return fail(responses[1])
    if responses[2].status != pb.OK:
        return fail(responses[2])
    print(responses[2].customer.name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
