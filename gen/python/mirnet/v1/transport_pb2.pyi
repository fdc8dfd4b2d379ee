from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

CONNECTION_STATE_BACKOFF: ConnectionState
CONNECTION_STATE_CLOSED: ConnectionState
CONNECTION_STATE_CONNECTING: ConnectionState
CONNECTION_STATE_LOCAL: ConnectionState
CONNECTION_STATE_OPEN: ConnectionState
CONNECTION_STATE_UNSPECIFIED: ConnectionState
DESCRIPTOR: _descriptor.FileDescriptor

class AwaitConnectionsRequest(_message.Message):
    __slots__ = ["min_connected"]
    MIN_CONNECTED_FIELD_NUMBER: _ClassVar[int]
    min_connected: int
    def __init__(self, min_connected: _Optional[int] = ...) -> None: ...

class AwaitConnectionsResponse(_message.Message):
    __slots__ = ["connected"]
    CONNECTED_FIELD_NUMBER: _ClassVar[int]
    connected: int
    def __init__(self, connected: _Optional[int] = ...) -> None: ...

class ConnectRequest(_message.Message):
    __slots__ = ["nodes"]
    NODES_FIELD_NUMBER: _ClassVar[int]
    nodes: _containers.RepeatedCompositeFieldContainer[Node]
    def __init__(self, nodes: _Optional[_Iterable[_Union[Node, _Mapping]]] = ...) -> None: ...

class ConnectResponse(_message.Message):
    __slots__ = ["added", "changed", "removed"]
    ADDED_FIELD_NUMBER: _ClassVar[int]
    CHANGED_FIELD_NUMBER: _ClassVar[int]
    REMOVED_FIELD_NUMBER: _ClassVar[int]
    added: _containers.RepeatedScalarFieldContainer[str]
    changed: _containers.RepeatedScalarFieldContainer[str]
    removed: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, added: _Optional[_Iterable[str]] = ..., removed: _Optional[_Iterable[str]] = ..., changed: _Optional[_Iterable[str]] = ...) -> None: ...

class GetInfoRequest(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class GetInfoResponse(_message.Message):
    __slots__ = ["default_lane", "lanes", "listen_addresses", "max_payload_bytes", "node_id", "peer_id"]
    DEFAULT_LANE_FIELD_NUMBER: _ClassVar[int]
    LANES_FIELD_NUMBER: _ClassVar[int]
    LISTEN_ADDRESSES_FIELD_NUMBER: _ClassVar[int]
    MAX_PAYLOAD_BYTES_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    PEER_ID_FIELD_NUMBER: _ClassVar[int]
    default_lane: str
    lanes: _containers.RepeatedCompositeFieldContainer[LaneInfo]
    listen_addresses: _containers.RepeatedScalarFieldContainer[str]
    max_payload_bytes: int
    node_id: str
    peer_id: str
    def __init__(self, node_id: _Optional[str] = ..., peer_id: _Optional[str] = ..., listen_addresses: _Optional[_Iterable[str]] = ..., max_payload_bytes: _Optional[int] = ..., lanes: _Optional[_Iterable[_Union[LaneInfo, _Mapping]]] = ..., default_lane: _Optional[str] = ...) -> None: ...

class GetStatusRequest(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class GetStatusResponse(_message.Message):
    __slots__ = ["node_id", "peer_id", "peers", "tentative", "totals"]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    PEERS_FIELD_NUMBER: _ClassVar[int]
    PEER_ID_FIELD_NUMBER: _ClassVar[int]
    TENTATIVE_FIELD_NUMBER: _ClassVar[int]
    TOTALS_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    peer_id: str
    peers: _containers.RepeatedCompositeFieldContainer[PeerStatus]
    tentative: _containers.RepeatedCompositeFieldContainer[TentativePeer]
    totals: StatusTotals
    def __init__(self, node_id: _Optional[str] = ..., peer_id: _Optional[str] = ..., peers: _Optional[_Iterable[_Union[PeerStatus, _Mapping]]] = ..., tentative: _Optional[_Iterable[_Union[TentativePeer, _Mapping]]] = ..., totals: _Optional[_Union[StatusTotals, _Mapping]] = ...) -> None: ...

class InboundMessage(_message.Message):
    __slots__ = ["lane", "payload"]
    FROM_FIELD_NUMBER: _ClassVar[int]
    LANE_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    lane: str
    payload: bytes
    def __init__(self, payload: _Optional[bytes] = ..., lane: _Optional[str] = ..., **kwargs) -> None: ...

class LaneInfo(_message.Message):
    __slots__ = ["name", "number", "queue_bytes", "queue_messages", "strict", "weight", "window_bytes", "window_messages"]
    NAME_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    QUEUE_BYTES_FIELD_NUMBER: _ClassVar[int]
    QUEUE_MESSAGES_FIELD_NUMBER: _ClassVar[int]
    STRICT_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    WINDOW_BYTES_FIELD_NUMBER: _ClassVar[int]
    WINDOW_MESSAGES_FIELD_NUMBER: _ClassVar[int]
    name: str
    number: int
    queue_bytes: int
    queue_messages: int
    strict: bool
    weight: int
    window_bytes: int
    window_messages: int
    def __init__(self, name: _Optional[str] = ..., number: _Optional[int] = ..., strict: bool = ..., weight: _Optional[int] = ..., queue_messages: _Optional[int] = ..., queue_bytes: _Optional[int] = ..., window_messages: _Optional[int] = ..., window_bytes: _Optional[int] = ...) -> None: ...

class LaneStatus(_message.Message):
    __slots__ = ["acknowledged_messages", "discarded_messages", "dropped_bytes", "dropped_messages", "duplicate_messages", "lane", "lost_in_flight_messages", "queued_bytes", "queued_messages", "received_bytes", "received_messages", "resent_messages", "sent_bytes", "sent_messages", "unconfirmed_messages"]
    ACKNOWLEDGED_MESSAGES_FIELD_NUMBER: _ClassVar[int]
    DISCARDED_MESSAGES_FIELD_NUMBER: _ClassVar[int]
    DROPPED_BYTES_FIELD_NUMBER: _ClassVar[int]
    DROPPED_MESSAGES_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_MESSAGES_FIELD_NUMBER: _ClassVar[int]
    LANE_FIELD_NUMBER: _ClassVar[int]
    LOST_IN_FLIGHT_MESSAGES_FIELD_NUMBER: _ClassVar[int]
    QUEUED_BYTES_FIELD_NUMBER: _ClassVar[int]
    QUEUED_MESSAGES_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_BYTES_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_MESSAGES_FIELD_NUMBER: _ClassVar[int]
    RESENT_MESSAGES_FIELD_NUMBER: _ClassVar[int]
    SENT_BYTES_FIELD_NUMBER: _ClassVar[int]
    SENT_MESSAGES_FIELD_NUMBER: _ClassVar[int]
    UNCONFIRMED_MESSAGES_FIELD_NUMBER: _ClassVar[int]
    acknowledged_messages: int
    discarded_messages: int
    dropped_bytes: int
    dropped_messages: int
    duplicate_messages: int
    lane: str
    lost_in_flight_messages: int
    queued_bytes: int
    queued_messages: int
    received_bytes: int
    received_messages: int
    resent_messages: int
    sent_bytes: int
    sent_messages: int
    unconfirmed_messages: int
    def __init__(self, lane: _Optional[str] = ..., queued_messages: _Optional[int] = ..., queued_bytes: _Optional[int] = ..., sent_messages: _Optional[int] = ..., sent_bytes: _Optional[int] = ..., dropped_messages: _Optional[int] = ..., dropped_bytes: _Optional[int] = ..., acknowledged_messages: _Optional[int] = ..., unconfirmed_messages: _Optional[int] = ..., lost_in_flight_messages: _Optional[int] = ..., resent_messages: _Optional[int] = ..., received_messages: _Optional[int] = ..., received_bytes: _Optional[int] = ..., duplicate_messages: _Optional[int] = ..., discarded_messages: _Optional[int] = ...) -> None: ...

class Node(_message.Message):
    __slots__ = ["address", "id"]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    address: str
    id: str
    def __init__(self, id: _Optional[str] = ..., address: _Optional[str] = ...) -> None: ...

class OutboundMessage(_message.Message):
    __slots__ = ["destinations", "lane", "payload"]
    DESTINATIONS_FIELD_NUMBER: _ClassVar[int]
    LANE_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    destinations: _containers.RepeatedScalarFieldContainer[str]
    lane: str
    payload: bytes
    def __init__(self, destinations: _Optional[_Iterable[str]] = ..., payload: _Optional[bytes] = ..., lane: _Optional[str] = ...) -> None: ...

class PeerStatus(_message.Message):
    __slots__ = ["acknowledged_messages", "address", "discarded_messages", "dropped_bytes", "dropped_messages", "inbound_open", "lanes", "last_error", "lost_in_flight_messages", "node_id", "peer_id", "queued_bytes", "queued_messages", "received_bytes", "received_messages", "reconnects", "resent_messages", "sent_bytes", "sent_messages", "state", "unconfirmed_messages"]
    ACKNOWLEDGED_MESSAGES_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    DISCARDED_MESSAGES_FIELD_NUMBER: _ClassVar[int]
    DROPPED_BYTES_FIELD_NUMBER: _ClassVar[int]
    DROPPED_MESSAGES_FIELD_NUMBER: _ClassVar[int]
    INBOUND_OPEN_FIELD_NUMBER: _ClassVar[int]
    LANES_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    LOST_IN_FLIGHT_MESSAGES_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    PEER_ID_FIELD_NUMBER: _ClassVar[int]
    QUEUED_BYTES_FIELD_NUMBER: _ClassVar[int]
    QUEUED_MESSAGES_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_BYTES_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_MESSAGES_FIELD_NUMBER: _ClassVar[int]
    RECONNECTS_FIELD_NUMBER: _ClassVar[int]
    RESENT_MESSAGES_FIELD_NUMBER: _ClassVar[int]
    SENT_BYTES_FIELD_NUMBER: _ClassVar[int]
    SENT_MESSAGES_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    UNCONFIRMED_MESSAGES_FIELD_NUMBER: _ClassVar[int]
    acknowledged_messages: int
    address: str
    discarded_messages: int
    dropped_bytes: int
    dropped_messages: int
    inbound_open: bool
    lanes: _containers.RepeatedCompositeFieldContainer[LaneStatus]
    last_error: str
    lost_in_flight_messages: int
    node_id: str
    peer_id: str
    queued_bytes: int
    queued_messages: int
    received_bytes: int
    received_messages: int
    reconnects: int
    resent_messages: int
    sent_bytes: int
    sent_messages: int
    state: ConnectionState
    unconfirmed_messages: int
    def __init__(self, node_id: _Optional[str] = ..., address: _Optional[str] = ..., peer_id: _Optional[str] = ..., state: _Optional[_Union[ConnectionState, str]] = ..., inbound_open: bool = ..., queued_messages: _Optional[int] = ..., queued_bytes: _Optional[int] = ..., sent_messages: _Optional[int] = ..., sent_bytes: _Optional[int] = ..., dropped_messages: _Optional[int] = ..., dropped_bytes: _Optional[int] = ..., lost_in_flight_messages: _Optional[int] = ..., discarded_messages: _Optional[int] = ..., received_messages: _Optional[int] = ..., received_bytes: _Optional[int] = ..., reconnects: _Optional[int] = ..., last_error: _Optional[str] = ..., acknowledged_messages: _Optional[int] = ..., unconfirmed_messages: _Optional[int] = ..., resent_messages: _Optional[int] = ..., lanes: _Optional[_Iterable[_Union[LaneStatus, _Mapping]]] = ...) -> None: ...

class PullRequest(_message.Message):
    __slots__ = ["lanes", "max_messages", "wait_ms"]
    LANES_FIELD_NUMBER: _ClassVar[int]
    MAX_MESSAGES_FIELD_NUMBER: _ClassVar[int]
    WAIT_MS_FIELD_NUMBER: _ClassVar[int]
    lanes: _containers.RepeatedScalarFieldContainer[str]
    max_messages: int
    wait_ms: int
    def __init__(self, max_messages: _Optional[int] = ..., lanes: _Optional[_Iterable[str]] = ..., wait_ms: _Optional[int] = ...) -> None: ...

class PullResponse(_message.Message):
    __slots__ = ["messages"]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    messages: _containers.RepeatedCompositeFieldContainer[InboundMessage]
    def __init__(self, messages: _Optional[_Iterable[_Union[InboundMessage, _Mapping]]] = ...) -> None: ...

class ReceiveRequest(_message.Message):
    __slots__ = ["lanes", "max_batch_messages"]
    LANES_FIELD_NUMBER: _ClassVar[int]
    MAX_BATCH_MESSAGES_FIELD_NUMBER: _ClassVar[int]
    lanes: _containers.RepeatedScalarFieldContainer[str]
    max_batch_messages: int
    def __init__(self, max_batch_messages: _Optional[int] = ..., lanes: _Optional[_Iterable[str]] = ...) -> None: ...

class ReceiveResponse(_message.Message):
    __slots__ = ["messages"]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    messages: _containers.RepeatedCompositeFieldContainer[InboundMessage]
    def __init__(self, messages: _Optional[_Iterable[_Union[InboundMessage, _Mapping]]] = ...) -> None: ...

class SendRequest(_message.Message):
    __slots__ = ["messages"]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    messages: _containers.RepeatedCompositeFieldContainer[OutboundMessage]
    def __init__(self, messages: _Optional[_Iterable[_Union[OutboundMessage, _Mapping]]] = ...) -> None: ...

class SendResponse(_message.Message):
    __slots__ = ["dropped_oldest", "queued"]
    DROPPED_OLDEST_FIELD_NUMBER: _ClassVar[int]
    QUEUED_FIELD_NUMBER: _ClassVar[int]
    dropped_oldest: int
    queued: int
    def __init__(self, queued: _Optional[int] = ..., dropped_oldest: _Optional[int] = ...) -> None: ...

class SendStreamRequest(_message.Message):
    __slots__ = ["messages"]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    messages: _containers.RepeatedCompositeFieldContainer[OutboundMessage]
    def __init__(self, messages: _Optional[_Iterable[_Union[OutboundMessage, _Mapping]]] = ...) -> None: ...

class SendStreamResponse(_message.Message):
    __slots__ = ["dropped_oldest", "queued", "requests"]
    DROPPED_OLDEST_FIELD_NUMBER: _ClassVar[int]
    QUEUED_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    dropped_oldest: int
    queued: int
    requests: int
    def __init__(self, queued: _Optional[int] = ..., dropped_oldest: _Optional[int] = ..., requests: _Optional[int] = ...) -> None: ...

class StatusTotals(_message.Message):
    __slots__ = ["abandoned_messages", "acknowledged_messages", "connected", "delivered_messages", "discarded_messages", "dropped_messages", "inbox_messages", "lost_in_flight_messages", "receive_streams", "received_messages", "resent_messages", "sent_messages", "tentative_evicted", "unconfirmed_messages"]
    ABANDONED_MESSAGES_FIELD_NUMBER: _ClassVar[int]
    ACKNOWLEDGED_MESSAGES_FIELD_NUMBER: _ClassVar[int]
    CONNECTED_FIELD_NUMBER: _ClassVar[int]
    DELIVERED_MESSAGES_FIELD_NUMBER: _ClassVar[int]
    DISCARDED_MESSAGES_FIELD_NUMBER: _ClassVar[int]
    DROPPED_MESSAGES_FIELD_NUMBER: _ClassVar[int]
    INBOX_MESSAGES_FIELD_NUMBER: _ClassVar[int]
    LOST_IN_FLIGHT_MESSAGES_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_MESSAGES_FIELD_NUMBER: _ClassVar[int]
    RECEIVE_STREAMS_FIELD_NUMBER: _ClassVar[int]
    RESENT_MESSAGES_FIELD_NUMBER: _ClassVar[int]
    SENT_MESSAGES_FIELD_NUMBER: _ClassVar[int]
    TENTATIVE_EVICTED_FIELD_NUMBER: _ClassVar[int]
    UNCONFIRMED_MESSAGES_FIELD_NUMBER: _ClassVar[int]
    abandoned_messages: int
    acknowledged_messages: int
    connected: int
    delivered_messages: int
    discarded_messages: int
    dropped_messages: int
    inbox_messages: int
    lost_in_flight_messages: int
    receive_streams: int
    received_messages: int
    resent_messages: int
    sent_messages: int
    tentative_evicted: int
    unconfirmed_messages: int
    def __init__(self, sent_messages: _Optional[int] = ..., dropped_messages: _Optional[int] = ..., lost_in_flight_messages: _Optional[int] = ..., discarded_messages: _Optional[int] = ..., received_messages: _Optional[int] = ..., delivered_messages: _Optional[int] = ..., inbox_messages: _Optional[int] = ..., connected: _Optional[int] = ..., tentative_evicted: _Optional[int] = ..., abandoned_messages: _Optional[int] = ..., receive_streams: _Optional[int] = ..., acknowledged_messages: _Optional[int] = ..., unconfirmed_messages: _Optional[int] = ..., resent_messages: _Optional[int] = ...) -> None: ...

class TentativePeer(_message.Message):
    __slots__ = ["dropped_messages", "held_bytes", "held_messages", "peer_id", "received_messages"]
    DROPPED_MESSAGES_FIELD_NUMBER: _ClassVar[int]
    HELD_BYTES_FIELD_NUMBER: _ClassVar[int]
    HELD_MESSAGES_FIELD_NUMBER: _ClassVar[int]
    PEER_ID_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_MESSAGES_FIELD_NUMBER: _ClassVar[int]
    dropped_messages: int
    held_bytes: int
    held_messages: int
    peer_id: str
    received_messages: int
    def __init__(self, peer_id: _Optional[str] = ..., held_messages: _Optional[int] = ..., held_bytes: _Optional[int] = ..., dropped_messages: _Optional[int] = ..., received_messages: _Optional[int] = ...) -> None: ...

class WatchPeersRequest(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class WatchPeersResponse(_message.Message):
    __slots__ = ["last_error", "node_id", "state"]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    last_error: str
    node_id: str
    state: ConnectionState
    def __init__(self, node_id: _Optional[str] = ..., state: _Optional[_Union[ConnectionState, str]] = ..., last_error: _Optional[str] = ...) -> None: ...

class ConnectionState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
