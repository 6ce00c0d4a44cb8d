"""An SMTP sink in its own process that counts messages and bytes instead of keeping them.

It runs apart so that receiving mail does not compete with the measured code for the GIL,
and counts rather than keeps (N x 4 messages with photos would not fit in memory).
`Sink(timed=True)` also notes when each message arrived and for whom (bench/latency.py).
"""

from __future__ import annotations

import multiprocessing as mp
import threading
import time


def _sink_main(conn, timed: bool) -> None:  # runs in the forked sink process
    from servers import SmtpSink

    class CountingSink(SmtpSink):
        def __init__(self) -> None:
            super().__init__()
            self.count = 0
            self.bytes = 0
            self.lock = threading.Lock()
            self.arrivals: list[tuple[float, list[str]]] = []  # (time.time() at the end of DATA, recipients)

        def _capture(self, item) -> None:
            at = time.time()
            with self.lock:
                self.count += 1
                self.bytes += len(item.data)
                if timed:
                    self.arrivals.append((at, list(item.rcpt_tos)))

    sink = CountingSink().start()
    conn.send(sink.port)
    while True:
        command = conn.recv()
        if command == "count":
            with sink.lock:
                conn.send((sink.count, sink.bytes))
        elif command == "arrivals":
            with sink.lock:
                conn.send(list(sink.arrivals))
        else:
            sink.stop()
            conn.send(None)
            return


class Sink:
    def __init__(self, timed: bool = False) -> None:
        ctx = mp.get_context("fork")  # forked before this process starts any thread
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_sink_main, args=(child, timed), daemon=True)
        self.proc.start()
        self.port = self.conn.recv()
        self.host = "127.0.0.1"

    def count(self) -> tuple[int, int]:
        self.conn.send("count")
        return self.conn.recv()

    def arrivals(self) -> list[tuple[float, list[str]]]:
        """Each message so far as (time.time() it arrived, its recipients); only with timed=True."""
        self.conn.send("arrivals")
        return self.conn.recv()

    def stop(self) -> None:
        if self.proc.is_alive():
            self.conn.send("stop")
            self.conn.recv()
            self.proc.join(timeout=10)
