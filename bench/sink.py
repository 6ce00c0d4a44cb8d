"""An SMTP sink in its own process that counts messages and bytes instead of keeping them.

It runs apart so that receiving mail does not compete with the measured code for the GIL,
and counts rather than keeps (N x 4 messages with photos would not fit in memory).
"""

from __future__ import annotations

import multiprocessing as mp
import threading


def _sink_main(conn) -> None:  # runs in the forked sink process
    from servers import SmtpSink

    class CountingSink(SmtpSink):
        def __init__(self) -> None:
            super().__init__()
            self.count = 0
            self.bytes = 0
            self.lock = threading.Lock()

        def _capture(self, item) -> None:
            with self.lock:
                self.count += 1
                self.bytes += len(item.data)

    sink = CountingSink().start()
    conn.send(sink.port)
    while True:
        command = conn.recv()
        if command == "count":
            with sink.lock:
                conn.send((sink.count, sink.bytes))
        else:
            sink.stop()
            conn.send(None)
            return


class Sink:
    def __init__(self) -> None:
        ctx = mp.get_context("fork")  # forked before this process starts any thread
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_sink_main, args=(child,), daemon=True)
        self.proc.start()
        self.port = self.conn.recv()
        self.host = "127.0.0.1"

    def count(self) -> tuple[int, int]:
        self.conn.send("count")
        return self.conn.recv()

    def stop(self) -> None:
        if self.proc.is_alive():
            self.conn.send("stop")
            self.conn.recv()
            self.proc.join(timeout=10)
