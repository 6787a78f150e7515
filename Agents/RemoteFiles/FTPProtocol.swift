import Foundation

// The FTP control conversation as pure code (RFC 959, 2428, 3659): bytes in, replies out;
// replies in, the next command out. No sockets here, so the whole of it is unit- and fuzz-tested;
// FTPStore is the thin socket adapter around it.

/// One reply: the three-digit code and its text lines (one, or several for a multi-line reply).
public struct FTPReply: Sendable, Equatable {
    public var code: Int
    public var lines: [String]

    public init(code: Int, lines: [String]) {
        self.code = code
        self.lines = lines
    }

    /// 1xx: the server goes on (a transfer starts); a final reply follows.
    public var isPreliminary: Bool { (100..<200).contains(code) }
    public var isCompletion: Bool { (200..<300).contains(code) }
    public var isIntermediate: Bool { (300..<400).contains(code) }
    public var text: String { lines.joined(separator: " / ") }

    /// The failure a refused file or folder command means. 550/450 are the standard "no such
    /// file"; pyftpdlib answers MLSD of a missing folder with 501 "No such directory", and a
    /// search of a dated folder that does not exist yet must read that as missing, not broken.
    public func fileProblem(server: String, path: String) -> RemoteFilesError {
        let text = text.lowercased()
        if code == 550, text.contains("permission") || text.contains("denied") { return .permissionDenied(server: server, path: path) }
        if code == 550 || code == 450 { return .notFound(server: server, path: path) }
        if (500..<600).contains(code), text.contains("no such") || text.contains("not found") || text.contains("does not exist") {
            return .notFound(server: server, path: path)
        }
        return .failed(server: server, path: path, reason: "\(code) \(self.text)")
    }
}

/// A bounded, fragmentation-proof reader of control-connection replies. A multi-line reply
/// starts with `ddd-` and ends with a line starting `ddd ` of the same code; lines in between
/// may hold anything (RFC 959 4.2). Lines end with CRLF or a bare LF.
public struct FTPReplyReader: Sendable {
    public static let maxLineBytes = 8 * 1024
    public static let maxReplyLines = 10_000

    public enum Problem: Error, Equatable, Sendable, CustomStringConvertible {
        case notAReply(String)
        case tooLong

        public var description: String {
            switch self {
            case .notAReply(let line): "the server sent something that is not an FTP reply: '\(line.prefix(200))'"
            case .tooLong: "the server sent an FTP reply longer than \(FTPReplyReader.maxLineBytes) bytes a line or \(FTPReplyReader.maxReplyLines) lines"
            }
        }
    }

    private var pending: [UInt8] = []
    private var openCode: Int?
    private var openLines: [String] = []

    public init() {}

    /// Feeds bytes as they arrive; returns the replies they complete. After a `Problem` the
    /// connection is unusable (the reader cannot resynchronise on a stream it does not understand).
    public mutating func feed(_ bytes: some Sequence<UInt8>) throws(Problem) -> [FTPReply] {
        var replies: [FTPReply] = []
        for byte in bytes {
            guard byte == UInt8(ascii: "\n") else {
                pending.append(byte)
                guard pending.count <= Self.maxLineBytes else { throw .tooLong }
                continue
            }
            if pending.last == UInt8(ascii: "\r") { pending.removeLast() }
            let line = String(decoding: pending, as: UTF8.self)
            pending.removeAll(keepingCapacity: true)
            if let reply = try take(line) { replies.append(reply) }
        }
        return replies
    }

    private mutating func take(_ line: String) throws(Problem) -> FTPReply? {
        let code = Self.code(of: line)
        let separator = line.utf8.count > 3 ? line.utf8[line.utf8.index(line.utf8.startIndex, offsetBy: 3)] : nil
        if let open = openCode {
            openLines.append(line)
            guard openLines.count <= Self.maxReplyLines else { throw .tooLong }
            guard code == open, separator != UInt8(ascii: "-") else { return nil }
            defer { openCode = nil; openLines = [] }
            return FTPReply(code: open, lines: openLines.map { Self.stripCode($0, code: open) })
        }
        guard let code else { throw .notAReply(line) }
        if separator == UInt8(ascii: "-") {
            openCode = code
            openLines = [line]
            return nil
        }
        return FTPReply(code: code, lines: [Self.stripCode(line, code: code)])
    }

    private static func code(of line: String) -> Int? {
        let head = Array(line.utf8.prefix(4))
        guard head.count >= 3, head[0] >= UInt8(ascii: "1"), head[0] <= UInt8(ascii: "5"),
              head[1...2].allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
              head.count == 3 || head[3] == UInt8(ascii: " ") || head[3] == UInt8(ascii: "-") else { return nil }
        return Int(head[0] - 48) * 100 + Int(head[1] - 48) * 10 + Int(head[2] - 48)
    }

    /// Drops the reply's own code from a line; other lines of a multi-line reply lose one leading space.
    private static func stripCode(_ line: String, code: Int) -> String {
        guard Self.code(of: line) == code else { return line.hasPrefix(" ") ? String(line.dropFirst()) : line }
        return String(line.dropFirst(4))
    }
}

/// A command line for the control connection. Arguments with CR, LF or NUL are refused: a path
/// holding them would smuggle a second command (e.g. `DELE`) onto the connection.
public enum FTPCommand {
    public struct Refused: Error, Equatable, Sendable, CustomStringConvertible {
        public var argument: String
        public var description: String { "refused to send an FTP argument with a line break or NUL: '\(argument.prefix(200))'" }
    }

    public static func line(_ verb: String, _ argument: String? = nil) throws(Refused) -> [UInt8] {
        guard let argument else { return Array("\(verb)\r\n".utf8) }
        // Scalars, not Characters: Swift reads "\r\n" as one Character equal to neither "\r" nor "\n".
        guard !argument.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" }) else { throw Refused(argument: argument) }
        return Array("\(verb) \(argument)\r\n".utf8)
    }
}

/// The data-connection address of a passive-mode reply.
public enum FTPPassive {
    /// `227 Entering Passive Mode (h1,h2,h3,h4,p1,p2)`: the six numbers, wherever the parentheses
    /// are (some servers leave them out). The host is returned but callers should connect to the
    /// control connection's address: servers behind NAT announce private addresses.
    public static func parse227(_ reply: FTPReply) -> (host: String, port: Int)? {
        guard reply.code == 227, let text = reply.lines.first else { return nil }
        let groups = text.split { !($0.isASCII && ($0.isNumber || $0 == ",")) }
        for group in groups {
            let parts = group.split(separator: ",", omittingEmptySubsequences: false)
            guard parts.count == 6 else { continue }
            let numbers = parts.compactMap { $0.count <= 3 ? Int($0) : nil }.filter { (0...255).contains($0) }
            guard numbers.count == 6 else { continue }
            let port = numbers[4] * 256 + numbers[5]
            guard port > 0 else { return nil }
            return (numbers[0...3].map(String.init).joined(separator: "."), port)
        }
        return nil
    }

    /// `229 Entering Extended Passive Mode (|||port|)`: the delimiter is the first character in
    /// the parentheses, repeated four times around the port (RFC 2428).
    public static func parse229(_ reply: FTPReply) -> Int? {
        guard reply.code == 229, let text = reply.lines.first,
              let open = text.firstIndex(of: "("), let close = text.lastIndex(of: ")"), open < close else { return nil }
        let inside = Array(text[text.index(after: open)..<close])
        guard inside.count >= 5, let delimiter = inside.first, inside[1] == delimiter, inside[2] == delimiter,
              inside.last == delimiter else { return nil }
        let digits = inside[3..<(inside.count - 1)]
        guard !digits.isEmpty, digits.count <= 5, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
              let port = Int(String(digits)), (1...65535).contains(port) else { return nil }
        return port
    }
}

/// Directory listings: `MLSD` lines (RFC 3659 facts) and, for servers without it, Unix `ls -l`
/// style `LIST` lines (vsftpd, ProFTPD, busybox on embedded PBXs).
public enum FTPListing {
    /// `type=file;size=123;modify=20240102030405; name`. Nil for lines that are not entries and
    /// for `cdir`/`pdir` (the folder itself and its parent).
    public static func parseMLSD(_ line: String, folder: String) -> RemoteFile? {
        guard let space = line.firstIndex(of: " ") else { return nil }
        let name = String(line[line.index(after: space)...])
        guard !name.isEmpty, !name.contains("/"), name != ".", name != ".." else { return nil }
        return parseFacts(line[..<space], path: join(folder, name))
    }

    /// The facts line of an `MLST` reply (` type=dir;modify=...; /monitor`) for `path`.
    public static func parseMLST(_ reply: FTPReply, path: String) -> RemoteFile? {
        guard reply.code == 250, reply.lines.count >= 3, let space = reply.lines[1].firstIndex(of: " ") else { return nil }
        return parseFacts(reply.lines[1][..<space], path: path)
    }

    private static func parseFacts(_ text: Substring, path: String) -> RemoteFile? {
        var facts: [String: String] = [:]
        for fact in text.split(separator: ";") {
            guard let equals = fact.firstIndex(of: "=") else { continue }
            facts[fact[..<equals].lowercased()] = String(fact[fact.index(after: equals)...])
        }
        let kind: RemoteFile.Kind
        switch facts["type"]?.lowercased() {
        case "file": kind = .file
        case "dir": kind = .directory
        case "cdir", "pdir": return nil
        case let type? where type.hasPrefix("os.unix=slink") || type.hasPrefix("os.unix=symlink"): kind = .symbolicLink
        default: kind = .other
        }
        return RemoteFile(path: path, kind: kind, size: facts["size"].flatMap { Int64($0) } ?? 0,
                          modified: facts["modify"].flatMap(parseTime))
    }

    /// `-rw-r--r-- 1 owner group 1234 Jan  2 03:04 name` or `... Jan  2  2023 name`. A recent
    /// date without a year is taken in the year that puts it at most a day ahead of `now` (as ls
    /// prints it); the time is read as UTC, since LIST does not say which zone the server means.
    public static func parseUnixList(_ line: String, folder: String, now: Date) -> RemoteFile? {
        let fields = line.split(separator: " ", maxSplits: 8, omittingEmptySubsequences: true)
        guard fields.count == 9, let type = fields[0].first, fields[0].count >= 10, let size = Int64(fields[4]) else { return nil }
        var name = String(fields[8])
        let kind: RemoteFile.Kind
        switch type {
        case "-": kind = .file
        case "d": kind = .directory
        case "l":
            kind = .symbolicLink
            if let arrow = name.range(of: " -> ") { name = String(name[..<arrow.lowerBound]) }
        default: kind = .other
        }
        guard name != ".", name != "..", !name.contains("/") else { return nil }
        return RemoteFile(path: join(folder, name), kind: kind, size: size,
                          modified: listTime(month: fields[5], day: fields[6], yearOrTime: fields[7], now: now))
    }

    /// `YYYYMMDDHHMMSS[.sss]` (MLSD `modify`, MDTM), always UTC.
    public static func parseTime(_ text: String) -> Date? {
        let digits = Array(text.prefix(14).utf8)
        guard digits.count == 14, digits.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        func number(_ range: Range<Int>) -> Int { digits[range].reduce(0) { $0 * 10 + Int($1 - 48) } }
        var components = DateComponents()
        (components.year, components.month, components.day) = (number(0..<4), number(4..<6), number(6..<8))
        (components.hour, components.minute, components.second) = (number(8..<10), number(10..<12), number(12..<14))
        guard (1...12).contains(components.month ?? 0), (1...31).contains(components.day ?? 0),
              (0...23).contains(components.hour ?? 0), (0...59).contains(components.minute ?? 0),
              (0...60).contains(components.second ?? 0) else { return nil }
        return utc.date(from: components)
    }

    private static let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]

    private static let utc: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        return calendar
    }()

    private static func listTime(month: Substring, day: Substring, yearOrTime: Substring, now: Date) -> Date? {
        guard let monthIndex = months.firstIndex(of: month.lowercased()), let dayNumber = Int(day), (1...31).contains(dayNumber) else { return nil }
        var components = DateComponents(month: monthIndex + 1, day: dayNumber)
        if yearOrTime.contains(":") {
            let parts = yearOrTime.split(separator: ":")
            guard parts.count == 2, let hour = Int(parts[0]), let minute = Int(parts[1]), (0...23).contains(hour), (0...59).contains(minute) else { return nil }
            (components.hour, components.minute) = (hour, minute)
            let thisYear = utc.component(.year, from: now)
            components.year = thisYear
            if let date = utc.date(from: components), date > now.addingTimeInterval(86_400) { components.year = thisYear - 1 }
        } else {
            guard let year = Int(yearOrTime), (1970...9999).contains(year) else { return nil }
            components.year = year
        }
        return utc.date(from: components)
    }

    static func join(_ folder: String, _ name: String) -> String {
        folder.hasSuffix("/") ? folder + name : folder + "/" + name
    }
}

/// The login: greeting, `USER`, `PASS` (when asked), `TYPE I`. Replies in, the next command out.
public struct FTPLogin: Sendable {
    public enum Step: Equatable, Sendable {
        case send(verb: String, argument: String?)
        /// Logged in, binary mode set: the connection is ready for transfers.
        case ready
        case wait
        case failed(Failure)
    }

    public enum Failure: Equatable, Sendable {
        case unavailable(FTPReply)
        case refused(FTPReply)
        case unexpected(FTPReply)
    }

    private enum State {
        case greeting, user, password, binary, done
    }

    private let user: String
    private let password: String
    private var state = State.greeting

    public init(user: String, password: String) {
        self.user = user
        self.password = password
    }

    public mutating func receive(_ reply: FTPReply) -> Step {
        if reply.isPreliminary, state == .greeting { return .wait }
        switch (state, reply.code) {
        case (.greeting, 220):
            state = .user
            return .send(verb: "USER", argument: user)
        case (.greeting, 421):
            return finish(.unavailable(reply))
        case (.user, 230), (.password, 230), (.password, 202):
            state = .binary
            return .send(verb: "TYPE", argument: "I")
        case (.user, 331):
            state = .password
            return .send(verb: "PASS", argument: password)
        case (.user, 530), (.password, 530), (.user, 430), (.password, 430), (.password, 332), (.user, 332):
            return finish(.refused(reply))
        case (.binary, 200):
            state = .done
            return .ready
        case (_, 421):
            return finish(.unavailable(reply))
        default:
            return finish(.unexpected(reply))
        }
    }

    private mutating func finish(_ failure: Failure) -> Step {
        state = .done
        return .failed(failure)
    }
}
