#!/usr/bin/python3
"""An aiohttp server (python asyncio, one event loop on one thread) that calls
a backend, for the connected-trace test of python asyncio.

Usage: aiohttp_chain_server.py [--host 127.0.0.1] [--port 0] --backend URL

Prints `READY <port>` once bound. Every request is answered after calling the
backend with aiohttp.ClientSession (one session for the whole server, so its
keep-alive connections are shared by all requests):

  GET /one/<token>     one backend call, GET <backend>/backend/<token>
  GET /gather/<token>  two backend calls at once (asyncio.gather), GET
                       <backend>/backend/<token>/a and .../<token>/b

The answer is 200 with the backend statuses (whatever they are: the test's
backend, harness.http_server(), answers 404 to these paths; what matters is
that the call was made); a failed call fails the request (500).
"""

import argparse
import asyncio
import socket
import sys

from aiohttp import ClientSession, ClientTimeout, TCPConnector, web


async def call(session, url):
    async with session.get(url) as r:
        await r.read()
        return r.status


async def one(request):
    app = request.app
    status = await call(app["session"], app["backend"] + "/backend/" + request.match_info["token"])
    return web.Response(text="%d\n" % status)


async def gather(request):
    app = request.app
    base = app["backend"] + "/backend/" + request.match_info["token"]
    statuses = await asyncio.gather(call(app["session"], base + "/a"),
                                    call(app["session"], base + "/b"))
    return web.Response(text="%r\n" % (statuses,))


async def main(args):
    app = web.Application()
    app["backend"] = args.backend.rstrip("/")
    app["session"] = ClientSession(connector=TCPConnector(limit=32),
                                   timeout=ClientTimeout(total=20))
    app.router.add_get("/one/{token}", one)
    app.router.add_get("/gather/{token}", gather)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    sock = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    site = web.SockSite(runner, sock)
    await site.start()
    sys.stdout.write("READY %d\n" % sock.getsockname()[1])
    sys.stdout.flush()
    await asyncio.Event().wait()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--backend", required=True)
    asyncio.run(main(ap.parse_args()))
