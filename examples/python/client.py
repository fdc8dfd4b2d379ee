#!/usr/bin/env python3
"""A small client of a mirnet daemon's TransportService (gRPC, HTTP/2 with or without TLS).

In this order, each step only when asked for (GetInfo and GetStatus always):

  1. GetInfo           who the daemon is and where other daemons reach it
  2. Connect           --membership FILE: make that membership current
  3. AwaitConnections  --await-connected N: wait for N connected members
  4. Send              --send TEXT --to IDS: queue TEXT for those members
  5. Receive           --receive N: print received messages as "from: payload"
     (or Pull           --receive N --pull: the same through Pull calls)
  6. GetStatus         per-member state and counters

Received messages go to stdout, one "from: payload" line each; everything
else goes to stderr. Payloads that are not printable UTF-8 are shown as hex
(0x...). Exit codes: 0 done, 1 an RPC failed (the daemon unreachable
included), 2 bad usage or membership file, 3 timed out (fewer than N messages
received, or fewer than N members connected), 130 interrupted.

A daemon that requires a token (`mirnet serve --api-token-file`) is called
with --token-file; one that serves TLS with --tls-ca (and --tls-cert and
--tls-key when it requires client certificates).

Needs grpcio and protobuf, and the generated stubs of gen/python (found
through this file's location, or through PYTHONPATH).
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

# gen/python of this repository holds the stubs (mirnet/v1/transport_pb2*.py).
_GEN = Path(__file__).resolve().parents[2] / "gen" / "python"
if _GEN.is_dir():
    sys.path.insert(0, str(_GEN))

import grpc  # noqa: E402
from google.protobuf import json_format  # noqa: E402

from mirnet.v1 import transport_pb2 as pb  # noqa: E402
from mirnet.v1 import transport_pb2_grpc as pb_grpc  # noqa: E402

EXIT_OK = 0
EXIT_RPC = 1
EXIT_USAGE = 2
EXIT_TIMEOUT = 3


class Failure(Exception):
    """Ends the program with a message on stderr and an exit code."""

    def __init__(self, message, code):
        super().__init__(message)
        self.code = code


def log(*parts):
    print(*parts, file=sys.stderr, flush=True)


def parse_args(argv):
    p = argparse.ArgumentParser(
        description="Talk to a mirnet daemon: GetInfo, then optionally Connect, "
        "AwaitConnections, Send and Receive, then GetStatus.",
        epilog="Received messages are printed on stdout as 'from: payload'; "
        "everything else on stderr. Exit codes: 0 ok, 1 RPC failed, "
        "2 bad usage, 3 timed out.",
    )
    p.add_argument("--api", default=os.environ.get("MIRNET_API", "127.0.0.1:7070"),
                   help="the daemon's API as HOST:PORT (env MIRNET_API; default %(default)s)")
    p.add_argument("--token-file", metavar="FILE", default=os.environ.get("MIRNET_API_TOKEN_FILE"),
                   help="send the bearer token in FILE with every call "
                   "(env MIRNET_API_TOKEN_FILE; the daemon's --api-token-file)")
    p.add_argument("--tls-ca", metavar="FILE",
                   help="connect over TLS, trusting the PEM CA certificates in FILE")
    p.add_argument("--tls-cert", metavar="FILE",
                   help="PEM client certificate, for a daemon with --api-tls-client-ca (needs --tls-key)")
    p.add_argument("--tls-key", metavar="FILE", help="PEM private key of --tls-cert")
    p.add_argument("--membership", metavar="FILE",
                   help='Connect with this membership: JSON of ConnectRequest, '
                   '{"nodes":[{"id":"a","address":"/ip4/.../p2p/..."}]} '
                   '(the format of `mirnet serve --membership`)')
    p.add_argument("--await-connected", type=int, metavar="N", default=0,
                   help="after Connect, wait until N members (the own node "
                   "included) have an open connection")
    p.add_argument("--send", action="append", default=[], metavar="TEXT",
                   help="queue TEXT (UTF-8) for the --to members; repeat for several messages")
    p.add_argument("--to", default="", metavar="IDS",
                   help="comma-separated node ids the --send messages go to")
    p.add_argument("--receive", type=int, metavar="N",
                   help="receive until N messages arrived (0: until --timeout) and print them")
    p.add_argument("--pull", action="store_true",
                   help="with --receive, take the messages with Pull calls, each "
                   "for at most the messages still wanted, instead of a Receive "
                   "stream: no message is taken from the daemon beyond N")
    p.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                   help="deadline of each call; Receive and AwaitConnections "
                   "wait at most this long (default %(default)s)")
    p.add_argument("--quiet", action="store_true",
                   help="print only received messages and errors")
    args = p.parse_args(argv)
    if args.send and not args.to:
        p.error("--send needs --to")
    if args.to and not args.send:
        p.error("--to needs --send")
    if args.receive is not None and args.receive < 0:
        p.error("--receive must be 0 or more")
    if args.pull and args.receive is None:
        p.error("--pull needs --receive")
    if args.await_connected < 0:
        p.error("--await-connected must be 0 or more")
    if args.timeout <= 0:
        p.error("--timeout must be positive")
    if (args.tls_cert is None) != (args.tls_key is None):
        p.error("--tls-cert and --tls-key go together")
    if args.tls_cert is not None and args.tls_ca is None:
        p.error("--tls-cert needs --tls-ca")
    return args


def read_file(what, path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise Failure(f"cannot read {what} {path}: {e}", EXIT_USAGE) from e


def open_channel(args):
    """h2c, or TLS when --tls-ca is given."""
    if args.tls_ca is None:
        return grpc.insecure_channel(args.api)
    credentials = grpc.ssl_channel_credentials(
        root_certificates=read_file("CA file", args.tls_ca),
        private_key=read_file("key file", args.tls_key) if args.tls_key else None,
        certificate_chain=read_file("certificate file", args.tls_cert) if args.tls_cert else None,
    )
    return grpc.secure_channel(args.api, credentials)


def call_metadata(args):
    """The bearer token as the metadata of every call, or none."""
    if args.token_file is None:
        return None
    token = read_file("token file", args.token_file).decode("utf-8").strip()
    return (("authorization", f"Bearer {token}"),)


def load_membership(path):
    """A ConnectRequest from a JSON file, with a usage error if it is not one."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        return json_format.Parse(text, pb.ConnectRequest())
    except (OSError, json_format.ParseError, json.JSONDecodeError) as e:
        raise Failure(f"cannot use membership file {path}: {e}", EXIT_USAGE) from e


def show_payload(payload):
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        return "0x" + payload.hex()
    return text if text.isprintable() else "0x" + payload.hex()


def rpc(name, fn, request, metadata, **kwargs):
    """Calls fn and turns an RPC error into a Failure naming the call."""
    try:
        return fn(request, metadata=metadata, **kwargs)
    except grpc.RpcError as e:
        if e.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
            raise Failure(f"{name}: timed out: {e.details()}", EXIT_TIMEOUT) from e
        raise Failure(f"{name} failed: {e.code().name}: {e.details()}", EXIT_RPC) from e


def receive(stub, want, timeout, metadata, say):
    """Prints messages until `want` arrived (0: until the timeout); returns the count.

    Every message of a batch the daemon handed over is printed, so the count
    may exceed `want` when a batch holds more than was still wanted.
    """
    # max_batch_messages bounds a batch to what is still wanted: messages the
    # daemon hands over are not left in its inbox for other Receive streams.
    stream = stub.Receive(pb.ReceiveRequest(max_batch_messages=min(want, 8192)),
                          timeout=timeout, metadata=metadata)
    count = 0
    timed_out = False
    try:
        for batch in stream:
            for m in batch.messages:
                # `from` is a Python keyword: the field is read with getattr.
                print(f"{getattr(m, 'from')}: {show_payload(m.payload)}", flush=True)
                count += 1
            if want and count >= want:
                break
    except grpc.RpcError as e:
        if e.code() != grpc.StatusCode.DEADLINE_EXCEEDED:
            raise Failure(f"Receive failed after {count} message(s): "
                          f"{e.code().name}: {e.details()}", EXIT_RPC) from e
        timed_out = True
    finally:
        stream.cancel()
    say(f"receive: {count} message(s)")
    if want and count < want:
        if timed_out:
            raise Failure(f"Receive: timed out after {timeout:g}s with {count} of {want} "
                          "messages", EXIT_TIMEOUT)
        # the daemon ends Receive streams cleanly when it stops
        raise Failure(f"Receive: the daemon ended the stream after {count} of {want} "
                      "messages (is it stopping?)", EXIT_RPC)
    return count


# Pull waits at most this long per call (the daemon caps wait_ms there).
MAX_PULL_WAIT_S = 60.0
# A Pull's deadline is its wait plus this: an empty answer, not
# DEADLINE_EXCEEDED, ends a wait in which nothing came.
PULL_DEADLINE_MARGIN_S = 5.0


def pull(stub, want, timeout, metadata, say):
    """Pulls until `want` messages arrived (0: until the timeout); returns the count.

    Each Pull asks for at most the messages still wanted, so the daemon hands
    over no more than `want`, and waits for the first one at most until the
    timeout.
    """
    deadline = time.monotonic() + timeout
    count = 0
    while not want or count < want:
        left = deadline - time.monotonic()
        wait_ms = int(min(left, MAX_PULL_WAIT_S) * 1000)
        if wait_ms <= 0:
            break
        request = pb.PullRequest(max_messages=min(want - count, 8192) if want else 0, wait_ms=wait_ms)
        res = rpc("Pull", stub.Pull, request, metadata, timeout=wait_ms / 1000 + PULL_DEADLINE_MARGIN_S)
        for m in res.messages:
            print(f"{getattr(m, 'from')}: {show_payload(m.payload)}", flush=True)
            count += 1
    say(f"pull: {count} message(s)")
    if want and count < want:
        raise Failure(f"Pull: timed out after {timeout:g}s with {count} of {want} messages",
                      EXIT_TIMEOUT)
    return count


def show_status(status, say):
    t = status.totals
    say(f"status: node {status.node_id}, {t.connected} connected, "
        f"sent {t.sent_messages}, received {t.received_messages}, "
        f"delivered {t.delivered_messages}, in inbox {t.inbox_messages}, "
        f"dropped {t.dropped_messages}, lost in flight {t.lost_in_flight_messages}")
    for peer in status.peers:
        state = pb.ConnectionState.Name(peer.state).removeprefix("CONNECTION_STATE_")
        line = (f"status:   {peer.node_id} {state}"
                f" inbound={'open' if peer.inbound_open else 'closed'}"
                f" queued={peer.queued_messages} sent={peer.sent_messages}"
                f" received={peer.received_messages} dropped={peer.dropped_messages}")
        if peer.last_error:
            line += f" last_error={peer.last_error!r}"
        say(line)
    for peer in status.tentative:
        say(f"status:   tentative {peer.peer_id} held={peer.held_messages}"
            f" received={peer.received_messages}")


def run(args):
    say = (lambda *_: None) if args.quiet else log
    membership = load_membership(args.membership) if args.membership else None

    metadata = call_metadata(args)

    with open_channel(args) as channel:
        try:
            grpc.channel_ready_future(channel).result(timeout=args.timeout)
        except grpc.FutureTimeoutError as e:
            raise Failure(f"cannot reach the daemon at {args.api} "
                          f"within {args.timeout:g}s", EXIT_RPC) from e
        stub = pb_grpc.TransportServiceStub(channel)

        info = rpc("GetInfo", stub.GetInfo, pb.GetInfoRequest(), metadata, timeout=args.timeout)
        say(f"info: node {info.node_id}, peer {info.peer_id}, "
            f"max payload {info.max_payload_bytes} bytes")
        for address in info.listen_addresses:
            say(f"info:   listening on {address}")

        if membership is not None:
            res = rpc("Connect", stub.Connect, membership, metadata, timeout=args.timeout)
            say(f"connect: {len(membership.nodes)} member(s); "
                f"added {list(res.added)}, removed {list(res.removed)}, "
                f"changed {list(res.changed)}")

        if args.await_connected:
            res = rpc("AwaitConnections", stub.AwaitConnections,
                      pb.AwaitConnectionsRequest(min_connected=args.await_connected), metadata,
                      timeout=args.timeout)
            say(f"await: {res.connected} member(s) connected")

        if args.send:
            destinations = [d.strip() for d in args.to.split(",") if d.strip()]
            request = pb.SendRequest(messages=[
                pb.OutboundMessage(destinations=destinations, payload=text.encode("utf-8"))
                for text in args.send
            ])
            res = rpc("Send", stub.Send, request, metadata, timeout=args.timeout)
            say(f"send: queued {res.queued} (message, destination) pair(s), "
                f"{res.dropped_oldest} pushed out an older message")

        if args.receive is not None:
            (pull if args.pull else receive)(stub, args.receive, args.timeout, metadata, say)

        status = rpc("GetStatus", stub.GetStatus, pb.GetStatusRequest(), metadata, timeout=args.timeout)
        show_status(status, say)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        run(args)
    except Failure as e:
        log(f"error: {e}")
        return e.code
    except KeyboardInterrupt:
        return 130
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
