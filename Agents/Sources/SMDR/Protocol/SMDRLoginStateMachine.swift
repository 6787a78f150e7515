import TamasEvents

/// The SMDR login over TCP (KX-NS500/NSX, TDE/TDA with LAN), FACTS.md section 2: the PBX
/// sends `-`, the client answers `SMDR`, the PBX asks `Enter Password:`, the client sends the
/// password, and from then on records stream; a wrong password gets `Rejected`.
///
/// Pure: the socket adapter feeds what it reads and the clock, and performs the actions.
public struct SMDRLoginStateMachine: Sendable {
    public struct Configuration: Codable, Hashable, Sendable {
        public var password: String
        /// What ends `SMDR` and the password: CR by default (ps_pabx_listener, Lotus, HyperTerminal).
        public var lineEnding: String
        /// Per waiting state: the PBX said nothing expected for this long.
        public var timeoutSeconds: Int
        /// After the password: how long a `Rejected` may take to arrive before silence is taken
        /// as success (an idle PBX sends no records to prove it).
        public var verifySeconds: Int

        public init(password: String = "PCCSMDR", lineEnding: String = "\r", timeoutSeconds: Int = 10, verifySeconds: Int = 2) {
            self.password = password
            self.lineEnding = lineEnding
            self.timeoutSeconds = timeoutSeconds
            self.verifySeconds = verifySeconds
        }
    }

    public enum State: String, Sendable, Equatable {
        case awaitingPrompt, awaitingPasswordPrompt, verifying, streaming, rejected, timedOut, disconnected
    }

    public enum Action: Sendable, Equatable {
        case send([UInt8])
        /// Login done; `leftover` are record bytes that came with the last login bytes.
        case loggedIn(leftover: [UInt8])
        case rejected(reason: String)
        case timedOut(reason: String)
        case disconnected(reason: String)
    }

    public let configuration: Configuration
    public private(set) var state: State = .awaitingPrompt
    private var buffer: [UInt8] = []
    private var deadline: Timestamp
    private static let bufferLimit = 4096

    /// The TCP connection was just established at `now`.
    public init(configuration: Configuration = Configuration(), connectedAt now: Timestamp) {
        self.configuration = configuration
        deadline = now.adding(seconds: configuration.timeoutSeconds)
    }

    public var isFinished: Bool { state == .streaming || state == .rejected || state == .timedOut || state == .disconnected }

    public mutating func receive(_ bytes: [UInt8], now: Timestamp) -> [Action] {
        guard !isFinished else { return [] }
        buffer += bytes
        if buffer.count > Self.bufferLimit { buffer.removeFirst(buffer.count - Self.bufferLimit) }
        var actions: [Action] = []
        while let action = step(now: now) {
            actions.append(action)
            if isFinished { break }
        }
        return actions
    }

    public mutating func tick(now: Timestamp) -> [Action] {
        guard !isFinished, now >= deadline else { return [] }
        if state == .verifying {
            state = .streaming
            return [.loggedIn(leftover: Self.droppingEcho(buffer, password: configuration.password))]
        }
        let waitingFor = state == .awaitingPrompt ? "the '-' prompt" : "'Enter Password:'"
        state = .timedOut
        return [.timedOut(reason: "SMDR login timed out waiting for \(waitingFor)")]
    }

    /// The connection closed before login finished.
    public mutating func connectionClosed() -> [Action] {
        guard !isFinished else { return [] }
        let during = state
        state = .disconnected
        return [.disconnected(reason: "connection closed during SMDR login (\(during.rawValue))")]
    }

    private mutating func step(now: Timestamp) -> Action? {
        if Self.find("rejected", in: buffer) != nil {
            state = .rejected
            return .rejected(reason: "SMDR login rejected")
        }
        switch state {
        case .awaitingPrompt:
            if let passwordPrompt = Self.find("password:", in: buffer) {
                return sendPassword(after: passwordPrompt, now: now)
            }
            guard let dash = buffer.firstIndex(of: 0x2D) else { return nil }
            buffer.removeFirst(dash + 1)
            state = .awaitingPasswordPrompt
            deadline = now.adding(seconds: configuration.timeoutSeconds)
            return .send(Array(("SMDR" + configuration.lineEnding).utf8))
        case .awaitingPasswordPrompt:
            guard let prompt = Self.find("password:", in: buffer) else { return nil }
            return sendPassword(after: prompt, now: now)
        case .verifying:
            let afterEcho = Self.droppingEcho(buffer, password: configuration.password)
            guard afterEcho.contains(where: { $0 == 0x0D || $0 == 0x0A }) else { return nil }
            state = .streaming
            return .loggedIn(leftover: afterEcho)
        case .streaming, .rejected, .timedOut, .disconnected:
            return nil
        }
    }

    private mutating func sendPassword(after prompt: Range<Int>, now: Timestamp) -> Action {
        buffer.removeFirst(prompt.upperBound)
        state = .verifying
        deadline = now.adding(seconds: configuration.verifySeconds)
        return .send(Array((configuration.password + configuration.lineEnding).utf8))
    }

    /// The PBX echoes the password (or `*` per character) and a line end; what follows is data.
    static func droppingEcho(_ bytes: [UInt8], password: String) -> [UInt8] {
        var start = 0
        while start < bytes.count, bytes[start] == 0x0D || bytes[start] == 0x0A || bytes[start] == 0x20 { start += 1 }
        guard let lineEnd = bytes[start...].firstIndex(where: { $0 == 0x0D || $0 == 0x0A }) else {
            return isEchoPrefix(bytes, password: password) ? [] : Array(bytes[start...])
        }
        let firstLine = Array(bytes[start..<lineEnd])
        guard isEcho(firstLine, password: password) else { return Array(bytes[start...]) }
        var dataStart = lineEnd
        while dataStart < bytes.count, bytes[dataStart] == 0x0D || bytes[dataStart] == 0x0A { dataStart += 1 }
        return Array(bytes[dataStart...])
    }

    private static func isEcho(_ line: [UInt8], password: String) -> Bool {
        line.allSatisfy { $0 == 0x2A } || Self.lowered(line) == Self.lowered(Array(password.utf8))
    }

    /// Still possibly in the middle of the echo (no line end yet).
    private static func isEchoPrefix(_ bytes: [UInt8], password: String) -> Bool {
        let trimmed = Array(bytes.drop { $0 == 0x0D || $0 == 0x0A || $0 == 0x20 })
        if trimmed.allSatisfy({ $0 == 0x2A }) { return true }
        let expected = lowered(Array(password.utf8))
        return trimmed.count <= expected.count && Array(expected.prefix(trimmed.count)) == lowered(trimmed)
    }

    private static func lowered(_ bytes: [UInt8]) -> [UInt8] {
        bytes.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }
    }

    /// Case-insensitive search of an ASCII word.
    static func find(_ word: String, in bytes: [UInt8]) -> Range<Int>? {
        let needle = Array(word.utf8)
        guard bytes.count >= needle.count else { return nil }
        for start in 0...(bytes.count - needle.count) {
            var matches = true
            for offset in 0..<needle.count {
                let byte = bytes[start + offset]
                if (byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte) != needle[offset] { matches = false; break }
            }
            if matches { return start..<start + needle.count }
        }
        return nil
    }
}
