#!/usr/bin/python3
"""gRPC client (python3-grpcio) for the kspan integration tests: one channel
(one HTTP/2 connection) to grpc_server.py, one scenario, one JSON line out.

Usage: grpc_client.py [--ca PEM] HOST:PORT SCENARIO [ARGS...]
  --ca PEM              gRPC over TLS (grpc.ssl_channel_credentials), the
                        server's certificate checked against this CA
  unary N SIZE          N sequential unary calls with SIZE-byte requests
  status NAME           one unary call the server aborts with status NAME
  deadline MS SLEEP_MS  one unary call with a MS deadline the server overruns
  server_stream N SIZE  one call, N response messages of SIZE bytes
  client_stream N SIZE  one call, N request messages of SIZE bytes
  bidi N SIZE           one call, N messages each way
  concurrent N          N unary calls in flight at once on the channel
  concurrent_sleeps N STEP_MS
                        N unary calls in flight at once, call i asking the
                        server to sleep i * STEP_MS first
  traceparent TP        one unary call carrying metadata traceparent: TP
  after_line N SIZE     one unary call, print CONNECTED, wait for a line on
                        stdin, then N unary calls on the same connection
  tp N SIZE [TP]        N sequential unary calls whose reply tells the
                        traceparent metadata the server received (TP: the
                        client sends this traceparent itself; big:BYTES: a
                        metadata value of BYTES bytes instead)
  tp_concurrent N [SIZE]
                        the same, N calls in flight at once (SIZE: bytes of
                        each request, 10 by default)
  tp_bidi N SIZE        one bidi call of N messages, the first asking
Output: {"codes": [status code name of each call, in order], "sizes": [...]}
and, for tp*: "tps" (per call, the traceparents the server saw) and "intact"
(per call, whether the reply carried the request's bytes unchanged).
"""

import json
import sys

import grpc

SERVICE = "/kspan.test.Echo/"
OPTIONS = [("grpc.max_receive_message_length", 16 << 20),
           ("grpc.max_send_message_length", 16 << 20),
           ("grpc.enable_http_proxy", 0)]


def code_of(call_fn):
    try:
        r = call_fn()
        return "OK", r
    except grpc.RpcError as e:
        return e.code().name, None


def main():
    argv = sys.argv[1:]
    ca = None
    if argv[0] == "--ca":
        ca, argv = argv[1], argv[2:]
    target, scenario, args = argv[0], argv[1], argv[2:]
    if ca:
        with open(ca, "rb") as f:
            ch = grpc.secure_channel(target, grpc.ssl_channel_credentials(f.read()),
                                     options=OPTIONS)
    else:
        ch = grpc.insecure_channel(target, options=OPTIONS)
    grpc.channel_ready_future(ch).result(timeout=20)
    unary = ch.unary_unary(SERVICE + "Unary")
    codes, sizes, tps, intact = [], [], [], []

    def record(code, r):
        codes.append(code)
        sizes.append(len(r) if isinstance(r, bytes) else None)

    def record_all(futures):
        for f in futures:
            try:
                record("OK", f.result())
            except grpc.RpcError as e:
                record(e.code().name, None)

    if scenario == "unary":
        n, size = int(args[0]), int(args[1])
        for _ in range(n):
            record(*code_of(lambda: unary(b"x" * size, timeout=20)))
    elif scenario == "status":
        record(*code_of(lambda: unary(("status:%s:failed on purpose" % args[0]).encode(),
                                      timeout=20)))
    elif scenario == "deadline":
        record(*code_of(lambda: unary(("sleep:%s" % args[1]).encode(),
                                      timeout=int(args[0]) / 1000.0)))
    elif scenario == "server_stream":
        call = ch.unary_stream(SERVICE + "ServerStream")
        msgs = list(call(("%s:%s" % (args[0], args[1])).encode(), timeout=20))
        codes.append("OK")
        sizes.append(sum(len(m) for m in msgs))
    elif scenario == "client_stream":
        n, size = int(args[0]), int(args[1])
        call = ch.stream_unary(SERVICE + "ClientStream")
        record(*code_of(lambda: call(iter([b"y" * size] * n), timeout=20)))
    elif scenario == "bidi":
        n, size = int(args[0]), int(args[1])
        call = ch.stream_stream(SERVICE + "Bidi")
        msgs = list(call(iter([b"z" * size] * n), timeout=20))
        codes.append("OK")
        sizes.append(sum(len(m) for m in msgs))
    elif scenario == "concurrent":
        record_all([unary.future(b"c%d" % i, timeout=30) for i in range(int(args[0]))])
    elif scenario == "concurrent_sleeps":
        step = int(args[1])
        record_all([unary.future(b"sleep:%d" % (i * step), timeout=60)
                    for i in range(int(args[0]))])
    elif scenario == "traceparent":
        record(*code_of(lambda: unary(b"tp", timeout=20, metadata=[("traceparent", args[0])])))
    elif scenario in ("tp", "tp_concurrent"):
        n = int(args[0])
        size = int(args[1]) if len(args) > 1 else 10
        md = None
        if scenario == "tp" and len(args) > 2:
            # A traceparent of its own, or "big:BYTES": one metadata value
            # that long, so that the header block needs CONTINUATION frames.
            md = ((("x-big", "b" * int(args[2][4:])),) if args[2].startswith("big:")
                  else (("traceparent", args[2]),))
        reqs = [b"tp:%d:" % i + b"p" * size for i in range(n)]
        if scenario == "tp":
            replies = [unary(r, timeout=30, metadata=md) for r in reqs]
        else:
            replies = [f.result() for f in [unary.future(r, timeout=30) for r in reqs]]
        for r, rep in zip(reqs, replies):
            head, _, body = rep.partition(b"\n")
            record("OK", body)
            tps.append(json.loads(head))
            intact.append(body == r)
    elif scenario == "tp_bidi":
        n, size = int(args[0]), int(args[1])
        msgs = [b"tp:" + b"b" * size] + [b"z" * size] * (n - 1)
        out = list(ch.stream_stream(SERVICE + "Bidi")(iter(msgs), timeout=20))
        head, _, first = out[0].partition(b"\n")
        codes.append("OK")
        sizes.append(len(first) + sum(len(m) for m in out[1:]))
        tps.append(json.loads(head))
        intact.append([first] + out[1:] == msgs)
    elif scenario == "after_line":
        unary(b"first", timeout=20)
        print("CONNECTED", flush=True)
        sys.stdin.readline()
        n, size = int(args[0]), int(args[1])
        for _ in range(n):
            record(*code_of(lambda: unary(b"x" * size, timeout=20)))
    else:
        sys.exit("unknown scenario %s" % scenario)
    ch.close()
    out = {"codes": codes, "sizes": sizes}
    if scenario.startswith("tp"):
        out.update(tps=tps, intact=intact)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
