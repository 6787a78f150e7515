import Foundation
import NIOCore
import TamasEvents

/// The messages of the agent link (docs/protocol.md). Control messages are JSON so that they can
/// grow fields without breaking old peers; the two that carry volume, `batch` and `ack`, are
/// binary so the collector reads sequence numbers and event bodies without a JSON pass over the
/// frame.
public enum LinkMessage: Equatable, Sendable {
    case hello(Hello)
    case welcome(Welcome)
    case refused(Refused)
    case batch(EventBatch)
    case ack(throughSequence: UInt64)
    case heartbeat(Heartbeat)
    case command(Command)
    case result(CommandResult)
    case data(DataChunk)

    public enum Kind: UInt8, Sendable {
        case hello = 0x01
        case welcome = 0x02
        case refused = 0x03
        case batch = 0x10
        case ack = 0x11
        case heartbeat = 0x20
        case command = 0x30
        case result = 0x31
        case data = 0x32
    }

    public var kind: Kind {
        switch self {
        case .hello: .hello
        case .welcome: .welcome
        case .refused: .refused
        case .batch: .batch
        case .ack: .ack
        case .heartbeat: .heartbeat
        case .command: .command
        case .result: .result
        case .data: .data
        }
    }
}

public enum LinkProtocol {
    /// The version this build speaks. A peer announces its own; both use the lower one.
    public static let version = 1
    public static let defaultPort = 7443
    /// Hard cap on one frame, both directions; a bigger frame closes the connection.
    public static let defaultMaxFrameBytes = 8 * 1024 * 1024
    public static let defaultHeartbeatSeconds = 15
    /// Frame kinds at or above this value are optional extensions: an older peer skips them.
    public static let firstOptionalKind: UInt8 = 0x80
}

public struct Hello: Codable, Equatable, Sendable {
    public var protocolVersion: Int
    public var agentId: String
    public var secret: String
    public var kind: String
    public var version: String
    public var systemKeys: [String]
    /// Identifies one spool file; sequence numbers restart only with a new spool.
    public var spoolId: String
    public var spool: SpoolReport
    public var host: String?
    /// The commands this agent executes (originate, spy, fetch-recording...), so the collector
    /// sends a command only to an agent that can run it. Absent from agents older than the field.
    public var commands: [String]?

    public init(protocolVersion: Int = LinkProtocol.version, agentId: String, secret: String, kind: String, version: String,
                systemKeys: [String], spoolId: String, spool: SpoolReport, host: String? = nil, commands: [String]? = nil) {
        self.protocolVersion = protocolVersion
        self.agentId = agentId
        self.secret = secret
        self.kind = kind
        self.version = version
        self.systemKeys = systemKeys
        self.spoolId = spoolId
        self.spool = spool
        self.host = host
        self.commands = commands
    }
}

public struct Welcome: Codable, Equatable, Sendable {
    public var protocolVersion: Int
    public var collectorVersion: String
    public var agentName: String
    /// The highest sequence of this spool the collector has committed; the agent resends after it.
    public var committedThrough: UInt64
    public var systemKeys: [String]
    public var heartbeatSeconds: Int
    public var maxFrameBytes: Int

    public init(protocolVersion: Int, collectorVersion: String, agentName: String, committedThrough: UInt64,
                systemKeys: [String], heartbeatSeconds: Int, maxFrameBytes: Int) {
        self.protocolVersion = protocolVersion
        self.collectorVersion = collectorVersion
        self.agentName = agentName
        self.committedThrough = committedThrough
        self.systemKeys = systemKeys
        self.heartbeatSeconds = heartbeatSeconds
        self.maxFrameBytes = maxFrameBytes
    }
}

public struct Refused: Codable, Equatable, Sendable, Error {
    public var reason: String
    /// The agent should not retry quickly (bad credentials, unsupported version).
    public var permanent: Bool

    public init(reason: String, permanent: Bool) {
        self.reason = reason
        self.permanent = permanent
    }
}

/// Contiguous events `firstSequence ..< firstSequence + events.count`, each the JSON of one
/// CallEvent exactly as spooled.
public struct EventBatch: Equatable, Sendable {
    public var firstSequence: UInt64
    public var events: [ByteBuffer]

    public init(firstSequence: UInt64, events: [ByteBuffer]) {
        self.firstSequence = firstSequence
        self.events = events
    }

    public var lastSequence: UInt64 { firstSequence + UInt64(max(events.count, 1) - 1) }
}

public struct SpoolReport: Codable, Equatable, Sendable {
    public var backlog: Int
    public var capacity: Int
    /// `ok`, `nearlyFull`, `full`.
    public var state: String
    public var oldestAt: String?

    public init(backlog: Int, capacity: Int, state: String, oldestAt: String? = nil) {
        self.backlog = backlog
        self.capacity = capacity
        self.state = state
        self.oldestAt = oldestAt
    }
}

public struct Heartbeat: Codable, Equatable, Sendable {
    public var spool: SpoolReport?
    /// The agent's own word on its device: `connected`, `disconnected`, `loginRejected`, ...
    public var deviceState: String?
    /// When the agent last read anything from its device (a line, an AMI event, a file). A link
    /// to the PBX can be up and still deliver nothing; this is what shows it. Absent from agents
    /// older than this field and before the first input.
    public var lastInputAt: Timestamp?

    public init(spool: SpoolReport? = nil, deviceState: String? = nil, lastInputAt: Timestamp? = nil) {
        self.spool = spool
        self.deviceState = deviceState
        self.lastInputAt = lastInputAt
    }
}

public struct Command: Codable, Equatable, Sendable {
    public var id: String
    public var name: String
    public var arguments: [String: String]

    public init(id: String, name: String, arguments: [String: String] = [:]) {
        self.id = id
        self.name = name
        self.arguments = arguments
    }
}

public struct CommandResult: Codable, Equatable, Sendable {
    public var id: String
    public var ok: Bool
    public var output: String?
    public var error: String?

    public init(id: String, ok: Bool, output: String? = nil, error: String? = nil) {
        self.id = id
        self.ok = ok
        self.output = output
        self.error = error
    }
}

/// A piece of a byte stream answering a command (a recording being fetched).
public struct DataChunk: Equatable, Sendable {
    public var commandId: String
    public var offset: UInt64
    public var isLast: Bool
    public var bytes: ByteBuffer

    public init(commandId: String, offset: UInt64, isLast: Bool, bytes: ByteBuffer) {
        self.commandId = commandId
        self.offset = offset
        self.isLast = isLast
        self.bytes = bytes
    }
}
