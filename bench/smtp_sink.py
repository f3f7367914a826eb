#!/usr/bin/env python3
"""A local SMTP relay for bench/outbox.sh: accepts every message (ESMTP, pipelining-free),
counts them, writes nothing. Usage: smtp_sink.py PORT COUNT_FILE"""
import asyncio, sys

port, count_file = int(sys.argv[1]), sys.argv[2]
received = 0

async def session(reader, writer):
    global received
    writer.write(b"220 sink ESMTP\r\n")
    in_data = False
    while True:
        line = await reader.readline()
        if not line:
            break
        if in_data:
            if line in (b".\r\n", b".\n"):
                in_data = False
                received += 1
                writer.write(b"250 OK queued\r\n")
            continue
        verb = line[:4].upper()
        if verb in (b"EHLO", b"HELO"):
            writer.write(b"250-sink\r\n250 8BITMIME\r\n")
        elif verb == b"DATA":
            in_data = True
            writer.write(b"354 go on\r\n")
        elif verb == b"QUIT":
            writer.write(b"221 bye\r\n")
            await writer.drain()
            break
        else:
            writer.write(b"250 OK\r\n")
    writer.close()

async def report():
    while True:
        await asyncio.sleep(0.5)
        with open(count_file, "w") as f:
            f.write(str(received))

async def main():
    server = await asyncio.start_server(session, "127.0.0.1", port)
    asyncio.create_task(report())
    async with server:
        await server.serve_forever()

asyncio.run(main())
