#!/usr/bin/env python3
"""A WAN relay for FTP: a TCP proxy that makes 127.0.0.1 look like a remote server.

    python benches/wanrelay.py --listen 2121 --server 127.0.0.1:21 --rtt-ms 20 --cap-mbps 20
    curl ftp://user:pass@127.0.0.1:2121/file -o file

    from wanrelay import WanRelay
    with WanRelay(("127.0.0.1", 21), rtt=0.020, cap=20e6) as relay:
        ftp.connect("127.0.0.1", relay.port)
        ...
        relay.commands          # Counter of the FTP commands clients sent

What it does to every connection it carries, control and data alike:

- Delay: each byte reaches the other side one-way (``rtt / 2``) after the
  relay read it, in both directions.
- Connection set-up: the relay connects to the server one round trip
  (``rtt``) after it accepted the client, so nothing the client sends on a
  new connection reaches the server, and nothing of the server's reaches the
  client, before ``rtt * 1.5``: a new connection costs one round trip, as a
  TCP handshake on a real network does.
- Bandwidth cap (optional): a token bucket per connection and direction, at
  ``cap`` bytes per second (bursts of 64 KiB), as a per-connection throttle
  on a real server does. What each direction holds in flight is bounded
  (``window``), so a slow reader pushes back on the sender as TCP would.
- Passive mode: the server's ``227`` and ``229`` replies are rewritten to a
  fresh relay port (one listener per reply, taking one connection), so the
  data connections go through the relay too. Active mode (PORT/EPRT) is not
  relayed.
- FTPS: once a client sends ``AUTH`` (or starts with a TLS handshake:
  implicit FTPS), the control connection is relayed as opaque bytes and its
  replies can no longer be rewritten: the data connections of an encrypted
  session would then bypass the relay. The WAN benchmarks are plain FTP.
  For FTPS through the relay, use pass-through mode: the server listens on
  another loopback address and announces the relay's
  (``listen_address=127.0.0.2``, ``pasv_address=127.0.0.1`` for vsftpd), and
  ``data_ports=(lo, hi)`` (``--data-ports LO-HI``) makes the relay listen on
  that whole passive range in advance, relaying each port to the same port
  of the server, with no reply rewritten (``--selftest --tls`` shows it).

Sockets are served by plain threads (two per direction of each connection)
with 256 KiB reads; the GIL is released in every recv/send/sleep, so the relay
moves several hundred MB/s uncapped on a small machine (``--selftest`` measures
curl through it against curl direct, checking sha256).

Every command a client sends on a plain control connection is counted in
``relay.commands`` (a ``collections.Counter`` by verb), for "round trips per
file" figures.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import re
import socket
import sys
import threading
import time

READ_SIZE = 256 * 1024
BURST = 64 * 1024
DEFAULT_WINDOW = 16 << 20  # uncapped: in flight per direction (>= rate * one-way)
ACCEPT_TIMEOUT = 60.0  # how long a data-connection listener waits for its client

_PASV_RE = re.compile(rb"(\d+),(\d+),(\d+),(\d+),(\d+),(\d+)")
_EPSV_RE = re.compile(rb"\((.)\1\1(\d+)\1\)")


class WanRelay:
    """The relay. ``server``: (host, port). ``rtt`` seconds; ``cap`` bytes/s or None.

    ``listen``: (host, port) to listen on; port 0 picks a free one (``relay.port``).
    ``window``: the most bytes one direction of one connection holds in flight
    (default: enough for the cap at this delay, or 16 MiB uncapped).
    """

    def __init__(self, server, *, rtt=0.020, cap=None, listen=("127.0.0.1", 0), window=None, data_ports=None):
        self.server = (server[0], int(server[1]))
        self.rtt = float(rtt)
        self.cap = float(cap) if cap else None
        if window is None:
            if self.cap:
                # a bottleneck queue of about one bandwidth-delay product
                window = max(4 * READ_SIZE, int(self.cap * self.rtt * 2))
            else:
                window = DEFAULT_WINDOW
        self.window = window
        self.listen_host = listen[0]
        self.commands = collections.Counter()
        self.connections = 0  # accepted, control and data
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._listeners = set()
        self._pairs = set()
        # Pass-through mode (FTPS): listen in advance on the server's whole
        # passive port range, on our own address, and relay each port to the
        # same port of the server; replies are then left alone.
        self.data_ports = data_ports
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(listen)
        self._sock.listen(128)
        self.port = self._sock.getsockname()[1]
        self._thread = None

    # -- lifecycle ---------------------------------------------------------------

    def start(self):
        self._thread = _spawn(self._accept_loop, self._sock, self.server, True, None)
        if self.data_ports:
            lo, hi = self.data_ports
            for port in range(lo, hi + 1):
                lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                lst.bind((self.listen_host, port))
                lst.listen(16)
                with self._lock:
                    self._listeners.add(lst)
                _spawn(self._accept_loop, lst, (self.server[0], port), False, False)
        return self

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self._closing.set()
        with self._lock:
            listeners, self._listeners = list(self._listeners), set()
            pairs, self._pairs = list(self._pairs), set()
        for lst in [self._sock, *listeners]:
            _close_listener(lst)
        for pair in pairs:
            pair.close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def reset_counts(self):
        with self._lock:
            self.commands.clear()
            self.connections = 0

    @property
    def command_total(self):
        with self._lock:
            return sum(self.commands.values())

    # -- accepting -------------------------------------------------------------------

    def _accept_loop(self, lst, target, control, once):
        """Accepts clients on ``lst``; ``once``: a data listener, closed after one
        (or after ACCEPT_TIMEOUT without any)."""
        try:
            while not self._closing.is_set():
                try:
                    client, _ = lst.accept()
                except OSError:
                    return
                with self._lock:
                    self.connections += 1
                _spawn(self._serve, client, target, control)
                if once:
                    return
        finally:
            with self._lock:
                self._listeners.discard(lst)
            _close_listener(lst)

    def _serve(self, client, target, control):
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        born = time.monotonic()
        # The client's connect() returned at once; its first bytes and the
        # server's first bytes are held until the connection is one RTT old.
        if not _sleep_until(born + self.rtt, self._closing):
            client.close()
            return
        try:
            upstream = socket.create_connection(target, timeout=30)
        except OSError:
            _reset(client)
            return
        upstream.settimeout(None)
        upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        pair = _Pair(self, client, upstream, control)
        with self._lock:
            if self._closing.is_set():
                pair.close()
                return
            self._pairs.add(pair)
        pair.start()

    def _data_listener(self, host, port):
        """A one-shot listener that relays to (host, port); returns its port."""
        lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        lst.bind((self.listen_host, 0))
        lst.listen(1)
        lst.settimeout(ACCEPT_TIMEOUT)
        with self._lock:
            self._listeners.add(lst)
        _spawn(self._accept_loop, lst, (host, port), False, True)
        return lst.getsockname()[1]

    # -- the control connection's replies and commands -----------------------------------

    def _rewrite_reply(self, line):
        """A server reply line with its passive address replaced by a relay port."""
        if self.data_ports:
            return line
        if line.startswith(b"227"):
            m = _PASV_RE.search(line)
            if m:
                nums = [int(x) for x in m.groups()]
                host = ".".join(str(n) for n in nums[:4])
                if host == "0.0.0.0":
                    host = self.server[0]
                port = self._data_listener(host, nums[4] * 256 + nums[5])
                mine = self.listen_host.split(".") if self.listen_host != "0.0.0.0" else ["127", "0", "0", "1"]
                new = ",".join(mine + [str(port >> 8), str(port & 255)]).encode()
                return line[: m.start()] + new + line[m.end() :]
        elif line.startswith(b"229"):
            m = _EPSV_RE.search(line)
            if m:
                port = self._data_listener(self.server[0], int(m.group(2)))
                return line[: m.start(2)] + str(port).encode() + line[m.end(2) :]
        return line

    def _count(self, line):
        verb = line.split(b" ", 1)[0].strip().upper().decode("ascii", "replace")
        with self._lock:
            self.commands[verb] += 1


class _Pair:
    """One relayed connection: client <-> upstream, two delayed directions."""

    def __init__(self, relay, client, upstream, control):
        self.relay = relay
        self.client = client
        self.upstream = upstream
        self.control = control
        self.opaque = not control  # control connections are parsed until TLS starts
        self.lock = threading.Lock()
        self.done = 0
        self.closed = False

    def start(self):
        for src, dst, parse in (
            (self.client, self.upstream, self._from_client),
            (self.upstream, self.client, self._from_server),
        ):
            _Direction(self, src, dst, parse).start()

    def finished_one(self):
        with self.lock:
            self.done += 1
            last = self.done == 2
        if last:
            self.close()

    def close(self, reset=False):
        with self.lock:
            if self.closed:
                return
            self.closed = True
        for s in (self.client, self.upstream):
            if reset:
                _reset(s)
            else:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()
        with self.relay._lock:
            self.relay._pairs.discard(self)

    # Line filters for the control connection: called by the reader, in order.

    def _from_client(self, line):
        if self.opaque:
            return line
        if line[:1] == b"\x16":  # a TLS ClientHello: implicit FTPS
            self.opaque = True
            return line
        self.relay._count(line)
        if line[:4].upper() == b"AUTH":
            self.opaque = True
        return line

    def _from_server(self, line):
        if self.opaque:
            return line
        return self.relay._rewrite_reply(line)


class _Direction:
    """src -> dst through a queue: a reader stamps each chunk with its due
    time, a writer sends it then (through the token bucket, if capped)."""

    def __init__(self, pair, src, dst, line_filter):
        self.pair = pair
        self.src = src
        self.dst = dst
        self.line_filter = line_filter if pair.control else None
        self.queue = collections.deque()
        self.cond = threading.Condition()
        self.queued = 0  # bytes
        self.delay = pair.relay.rtt / 2
        self.window = pair.relay.window
        self.cap = pair.relay.cap
        self.stopped = False

    def start(self):
        _spawn(self._read)
        _spawn(self._write)

    def _put(self, item, size):
        with self.cond:
            while self.queued + size > self.window and self.queued and not self.stopped:
                self.cond.wait()
            if self.stopped:
                return False
            self.queue.append((time.monotonic() + self.delay, item))
            self.queued += size
            self.cond.notify_all()
            return True

    def _read(self):
        pending = b""
        while True:
            try:
                data = self.src.recv(READ_SIZE)
            except OSError:
                self._put(_RESET, 0)
                return
            if not data:
                if pending:
                    self._put(pending, len(pending))
                self._put(_EOF, 0)
                return
            if self.line_filter is not None and not self.pair.opaque and (pending or data)[:1] == b"\x16":
                self.pair.opaque = True  # a TLS ClientHello first: implicit FTPS
            if self.line_filter is not None and not self.pair.opaque:
                # Whole lines only, so a reply split over two reads is still seen.
                data = pending + data
                lines = data.split(b"\n")
                pending = lines.pop()
                data = b"".join(self.line_filter(line + b"\n") for line in lines)
                if self.pair.opaque:  # AUTH or TLS: the rest is not lines
                    data, pending = data + pending, b""
                if not data:
                    continue
            elif pending:
                data, pending = pending + data, b""
            if not self._put(data, len(data)):
                return

    def _write(self):
        tokens, last = float(BURST), time.monotonic()
        try:
            while True:
                with self.cond:
                    while not self.queue:
                        self.cond.wait()
                    due, item = self.queue[0]
                if not _sleep_until(due, self.pair.relay._closing):
                    return
                if item is _EOF:
                    with contextlib.suppress(OSError):
                        self.dst.shutdown(socket.SHUT_WR)
                    return
                if item is _RESET:
                    self.pair.close(reset=True)
                    return
                view = memoryview(item)
                while view:
                    if self.cap is None:
                        n = self.dst.send(view)
                    else:
                        now = time.monotonic()
                        tokens = min(float(BURST), tokens + (now - last) * self.cap)
                        last = now
                        if tokens < min(len(view), BURST):
                            time.sleep((min(len(view), BURST) - tokens) / self.cap)
                            continue
                        n = self.dst.send(view[: int(min(tokens, len(view)))])
                        tokens -= n
                    view = view[n:]
                with self.cond:
                    self.queue.popleft()
                    self.queued -= len(item)
                    self.cond.notify_all()
        except OSError:
            # The receiver went away (a client closing its data connection
            # early, as after ABOR): drop the whole connection, as a network would.
            self.pair.close(reset=True)
        finally:
            with self.cond:
                self.stopped = True
                self.cond.notify_all()
            self.pair.finished_one()


_EOF = object()
_RESET = object()


def _spawn(fn, *args):
    t = threading.Thread(target=fn, args=args, daemon=True)
    t.start()
    return t


def _sleep_until(when, closing):
    """Sleeps until ``when`` (monotonic); False if the relay is closing."""
    while True:
        left = when - time.monotonic()
        if left <= 0:
            return not closing.is_set()
        if closing.wait(left) if left > 0.05 else (time.sleep(left) or False):
            return False


def _reset(sock):
    """Closes with RST, as a broken network path does."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    with contextlib.suppress(OSError):
        sock.close()


def _close_listener(lst):
    with contextlib.suppress(OSError):
        lst.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        lst.close()


# -- command line ------------------------------------------------------------------------


def _selftest(args):
    """curl through the relay vs direct against vsftpd: MB/s and sha256."""
    import hashlib
    import os
    import subprocess
    import tempfile
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from vsftpd import Vsftpd

    size = args.size << 20
    with tempfile.TemporaryDirectory(dir="/dev/shm") as tmp:
        root = Path(tmp) / "root"
        root.mkdir()
        data = os.urandom(1 << 20)
        with open(root / "big.bin", "wb") as f:
            f.writelines(data for _ in range(args.size))
        want = hashlib.sha256()
        for _ in range(args.size):
            want.update(data)
        with Vsftpd(root) as srv:
            for rtt, cap in ((0.0, None), (args.rtt_ms / 1000, None), (args.rtt_ms / 1000, args.cap_mbps * 1e6 if args.cap_mbps else None)):
                for via in ("direct", "relay"):
                    if via == "direct" and (rtt or cap):
                        continue
                    relay = WanRelay((srv.host, srv.port), rtt=rtt, cap=cap).start() if via == "relay" else None
                    port = relay.port if relay else srv.port
                    out = Path(tmp) / "out.bin"
                    url = f"ftp://{srv.user}:{srv.password}@127.0.0.1:{port}/big.bin"
                    for mode in ("--ftp-pasv", "--disable-epsv"):
                        t0 = time.perf_counter()
                        subprocess.run(["curl", "-sS", "--fail", mode, "-o", str(out), url], check=True)
                        secs = time.perf_counter() - t0
                        h = hashlib.sha256(out.read_bytes()).hexdigest()
                        ok = "sha256 ok" if h == want.hexdigest() else "SHA256 MISMATCH"
                        label = f"{via} rtt={rtt * 1000:.0f}ms cap={cap / 1e6 if cap else '-'}MB/s {'EPSV' if mode == '--ftp-pasv' else 'PASV'}"
                        print(f"{label:45} {size / secs / 1e6:8.1f} MB/s  {secs:6.2f} s  {ok}")
                        out.unlink()
                    # upload, too
                    src = root / "big.bin"
                    t0 = time.perf_counter()
                    subprocess.run(["curl", "-sS", "--fail", "-T", str(src), url.replace("big.bin", "up.bin")], check=True)
                    secs = time.perf_counter() - t0
                    h = hashlib.sha256((root / "up.bin").read_bytes()).hexdigest()
                    ok = "sha256 ok" if h == want.hexdigest() else "SHA256 MISMATCH"
                    print(f"{via + ' upload':45} {size / secs / 1e6:8.1f} MB/s  {secs:6.2f} s  {ok}")
                    (root / "up.bin").unlink()
                    if relay:
                        print(f"{'':45} commands: {dict(relay.commands)}")
                        relay.close()


class _OtherAddressVsftpd:
    """tests/vsftpd.py's Vsftpd listening on 127.0.0.2 and announcing 127.0.0.1
    in its passive replies, for the relay's pass-through mode."""

    def __new__(cls, *args, **kwargs):
        sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent.parent / "tests"))
        from vsftpd import Vsftpd

        class Other(Vsftpd):
            def _config(self):
                self.host = "127.0.0.2"
                return super()._config().replace("pasv_address=127.0.0.2", "pasv_address=127.0.0.1")

        return Other(*args, **kwargs)


def _selftest_tls(args):
    """curl with FTPS (PROT P, vsftpd requiring TLS session reuse) through the
    relay in pass-through mode: MB/s and sha256."""
    import hashlib
    import os
    import subprocess
    import tempfile
    from pathlib import Path

    size = args.size << 20
    with tempfile.TemporaryDirectory(dir="/dev/shm") as tmp:
        root = Path(tmp) / "root"
        root.mkdir()
        data = os.urandom(size)
        (root / "big.bin").write_bytes(data)
        want = hashlib.sha256(data).hexdigest()
        with _OtherAddressVsftpd(root, tls="explicit", require_ssl_reuse=True) as srv:
            rtt = args.rtt_ms / 1000
            relay = WanRelay(("127.0.0.2", srv.port), rtt=rtt, data_ports=srv.pasv_range).start()
            try:
                out = Path(tmp) / "out.bin"
                url = f"ftp://{srv.user}:{srv.password}@127.0.0.1:{relay.port}/big.bin"
                for mode in ("--ftp-pasv", "--disable-epsv"):
                    t0 = time.perf_counter()
                    subprocess.run(["curl", "-sS", "--fail", "--ssl-reqd", "-k", mode, "-o", str(out), url], check=True)
                    secs = time.perf_counter() - t0
                    ok = "sha256 ok" if hashlib.sha256(out.read_bytes()).hexdigest() == want else "SHA256 MISMATCH"
                    label = f"FTPS via relay rtt={args.rtt_ms:g}ms {'EPSV' if mode == '--ftp-pasv' else 'PASV'}"
                    print(f"{label:45} {size / secs / 1e6:8.1f} MB/s  {secs:6.2f} s  {ok}  ({relay.connections} connections relayed)")
                    out.unlink()
            finally:
                relay.close()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--listen", default="2121", help="[HOST:]PORT to listen on (default 127.0.0.1:2121)")
    p.add_argument("--server", default="127.0.0.1:21", help="HOST:PORT of the FTP server")
    p.add_argument("--rtt-ms", type=float, default=20.0, help="round-trip time to add (default 20)")
    p.add_argument("--cap-mbps", type=float, default=None, help="bandwidth cap per connection and direction, MB/s")
    p.add_argument("--window", type=int, default=None, help="bytes in flight per direction (default: automatic)")
    p.add_argument("--data-ports", default=None, help="LO-HI: pass-through mode for FTPS (see above)")
    p.add_argument("--selftest", action="store_true", help="measure curl through the relay against vsftpd and exit")
    p.add_argument("--tls", action="store_true", help="selftest: FTPS through pass-through mode")
    p.add_argument("--size", type=int, default=256, help="selftest file size in MiB (default 256)")
    args = p.parse_args(argv)
    if args.selftest:
        _selftest_tls(args) if args.tls else _selftest(args)
        return 0
    host, _, port = args.listen.rpartition(":")
    shost, _, sport = args.server.rpartition(":")
    relay = WanRelay(
        (shost or "127.0.0.1", int(sport)),
        rtt=args.rtt_ms / 1000,
        cap=args.cap_mbps * 1e6 if args.cap_mbps else None,
        listen=(host or "127.0.0.1", int(port)),
        window=args.window,
        data_ports=tuple(int(x) for x in args.data_ports.split("-")) if args.data_ports else None,
    )
    with relay:
        print(
            f"relaying 127.0.0.1:{relay.port} -> {relay.server[0]}:{relay.server[1]} "
            f"(rtt {args.rtt_ms} ms, cap {args.cap_mbps or '-'} MB/s); Ctrl-C stops",
            file=sys.stderr,
        )
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
