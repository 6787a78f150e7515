import TamasEvents

/// What a `CallerIDDecoder` needs to rebuild the calls still in progress: the records of those
/// calls as they arrived (text, arrival time, position in the stream) and how many records the
/// stream had counted. Ids derive from arrival times and positions, so handing this to a fresh
/// decoder (`CallerIDDecoder.resume`) gives the same calls with the same ids: an agent commits
/// it with its events, and after a crash or restart the record that ends such a call still
/// lands on the call it belongs to.
public struct CallerIDOpenCalls: Equatable, Sendable {
    public struct Record: Equatable, Sendable {
        /// How many records the stream had counted before this one; its events' ids depend on it.
        public var ordinalBefore: Int
        public var arrivedAt: Timestamp
        /// The framed record exactly as the parser read it.
        public var text: String

        public init(ordinalBefore: Int, arrivedAt: Timestamp, text: String) {
            self.ordinalBefore = ordinalBefore
            self.arrivedAt = arrivedAt
            self.text = text
        }
    }

    /// Records of one protocol mean something else to another protocol's parser.
    public var `protocol`: CallerIDProtocol
    /// A resumed decoder goes on counting from here, so later records keep their positions.
    public var recordsCounted: Int
    /// In arrival order.
    public var records: [Record]

    public init(protocol: CallerIDProtocol, recordsCounted: Int, records: [Record]) {
        self.protocol = `protocol`
        self.recordsCounted = recordsCounted
        self.records = records
    }

    static let header = "callerid-open-calls/1"

    /// A header line, then one line per record. The framers end a record at every CR and LF, so
    /// a record's text never holds a line end and needs no escaping.
    public var encoded: String {
        let lines = ["\(Self.header) \(`protocol`.rawValue) \(recordsCounted)"] + records.map {
            "\($0.ordinalBefore) \($0.arrivedAt.epochMillis) \($0.arrivedAt.offsetSeconds) \($0.text)"
        }
        return lines.joined(separator: "\n")
    }

    /// nil when `encoded` is not in the form `encoded` writes, or was saved for another protocol.
    public init?(encoded: String, protocol expected: CallerIDProtocol) {
        let lines = encoded.split(separator: "\n", omittingEmptySubsequences: false)
        guard let headerLine = lines.first else { return nil }
        let header = headerLine.split(separator: " ", omittingEmptySubsequences: false)
        guard header.count == 3, header[0] == Self.header, header[1] == expected.rawValue,
              let counted = Int(header[2]), counted >= 0 else { return nil }
        var records: [Record] = []
        for line in lines.dropFirst() {
            let fields = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false)
            guard fields.count == 4, let ordinalBefore = Int(fields[0]), (0..<counted).contains(ordinalBefore),
                  let millis = Int64(fields[1]), let offset = Int32(fields[2]),
                  Timestamp.plausibleEpochSeconds.contains(millis / 1000), (-64_800...64_800).contains(offset) else { return nil }
            records.append(Record(
                ordinalBefore: ordinalBefore, arrivedAt: Timestamp(epochMillis: millis, offsetSeconds: offset),
                text: String(fields[3])))
        }
        self.init(protocol: expected, recordsCounted: counted, records: records)
    }
}
