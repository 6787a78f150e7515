import Foundation

func printTable(header: [String], rows: [[String]]) {
    let widths = header.indices.map { column in
        ([header[column]] + rows.map { $0[column] }).map(\.count).max() ?? 0
    }
    func line(_ cells: [String]) -> String {
        cells.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }
            .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
    }
    print(line(header))
    rows.forEach { print(line($0)) }
}

struct AgentRow: Decodable {
    var name: String
    var kind: String?
    var version: String?
    var systemKeys: [String]
    var connected: Bool
    var remoteAddress: String?
    var connectedSince: String?
    var lastEventAt: String?
    var lastInputAt: String?
    var eventsReceived: Int
    var spoolBacklog: Int?
    var spoolCapacity: Int?
    var status: String
}

struct Enrollment: Decodable {
    var name: String
    var agentId: String
    var secret: String
    var systemKeys: [String]
    var collectorAddress: String
    var collectorFingerprint: String?

    static let spoolFolder = "/var/lib/tamas-agent"

    func configuration(systemKey: String) -> String {
        var lines = [
            "collector:",
            "  address: \(collectorAddress)",
            "  agentId: \(agentId)",
            "  secret: \(secret)",
        ]
        if let collectorFingerprint { lines.append("  fingerprint: \(collectorFingerprint)") }
        // A spool per agent: two agents on one host must never share one (the spool refuses it).
        lines += ["spool:", "  path: \(Self.spoolFolder)/spool-\(name).sqlite", "system:", "  key: \(systemKey)", ""]
        return lines.joined(separator: "\n")
    }
}

struct CommandAnswer: Decodable {
    var ok: Bool
    var output: String?
    var error: String?
}

enum AnyCodable: Encodable {
    case string(String)
    case list([String])

    func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let value): try container.encode(value)
        case .list(let value): try container.encode(value)
        }
    }
}
