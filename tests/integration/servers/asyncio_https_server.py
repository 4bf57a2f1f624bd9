"""An HTTP/1.1 server on asyncio streams with ssl= (asyncio's SSL transport:
ssl.MemoryBIO, no syscall inside OpenSSL's calls): asyncio_https_server.py
--host H --port P --cert C --key K. Prints `READY <port>`; answers every
request with 200 and its path as the body, keeping the connection open."""

import argparse
import asyncio
import ssl


async def serve(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            path = head.split(b"\r\n", 1)[0].split(b" ")[1]
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                         b"Content-Length: %d\r\n\r\n%s" % (len(path), path))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    a = ap.parse_args()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    srv = await asyncio.start_server(serve, a.host, a.port, ssl=ctx)
    print("READY %d" % srv.sockets[0].getsockname()[1], flush=True)
    async with srv:
        await srv.serve_forever()


asyncio.run(main())
