import TamasEvents

/// A call the generated stream contains, as the decoder should report it.
public struct SMDRExpectedCall: Codable, Hashable, Sendable {
    public var direction: Direction
    public var disposition: Disposition
    public var answeredBy: String?
    public var transferredTo: String?
}

/// A generated SMDR stream and what it means.
public struct SMDRTraffic: Sendable {
    public var lines: [String]
    public var calls: [SMDRExpectedCall]

    /// The lines as a PBX sends them (CR LF after each).
    public var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(lines.count * 82)
        for line in lines {
            out += line.utf8
            out += [0x0D, 0x0A]
        }
        return out
    }

    /// Calls per `direction/disposition`, e.g. `inbound/missed`.
    public var counts: [String: Int] {
        calls.reduce(into: [:]) { $0["\($1.direction.rawValue)/\($1.disposition.rawValue)", default: 0] += 1 }
    }
}

/// Deterministic, realistic SMDR traffic for end-to-end tests and `smdr bench`: answered and
/// missed incoming calls, ring groups, RC lines, outgoing and intercom calls, transfers and
/// page headers, printed in the layout of the given model.
public struct SMDRTrafficGenerator: Sendable {
    public var model: SMDRModel
    public var layout: SMDRLayout
    public var dateFormat: SMDRDateOrder
    public var seed: UInt64
    /// Wall-clock start in the PBX's zone (the offset is not printed).
    public var start: Timestamp
    public var callCount: Int
    public var pageLength = 66

    public init(model: SMDRModel, layout: SMDRLayout? = nil, dateFormat: SMDRDateOrder? = nil, seed: UInt64,
                start: Timestamp, callCount: Int) {
        self.model = model
        let prints824 = model.printedTime == .start
        self.layout = layout ?? (prints824 ? .style824 : .patternA)
        let order = dateFormat ?? model.defaultDateOrder ?? .dayMonthYear
        self.dateFormat = order == .auto ? .dayMonthYear : order
        self.seed = seed
        self.start = start
        self.callCount = callCount
    }

    public func generate() -> SMDRTraffic {
        var writer = TrafficWriter(generator: self)
        writer.run()
        return SMDRTraffic(lines: writer.lines, calls: writer.calls)
    }
}

private struct TrafficWriter {
    let generator: SMDRTrafficGenerator
    var random: SplitMix64
    var lines: [String] = []
    var calls: [SMDRExpectedCall] = []
    /// Seconds since `start` of the PBX clock.
    var clock = 0
    var callIndex = 0
    var linesOnPage = 0
    let startsAtPrint: Bool
    let extensions: [String]

    init(generator: SMDRTrafficGenerator) {
        self.generator = generator
        random = SplitMix64(seed: generator.seed)
        startsAtPrint = generator.layout == .style824
        extensions = startsAtPrint ? (101...124).map(String.init) : (401...440).map(String.init)
    }

    mutating func run() {
        header()
        for _ in 0..<generator.callCount {
            clock += random.int(5...240)
            switch random.int(0...99) {
            case 0..<25: incomingAnswered()
            case 25..<40: ringGroupAnswered()
            case 40..<52: missed()
            case 52..<60: incomingTransferred()
            case 60..<82: outgoing(answered: true)
            case 82..<87: outgoing(answered: false)
            case 87..<93: outgoingTransferred()
            default: intercom()
            }
            callIndex += 1
        }
    }

    // MARK: - Calls

    mutating func incomingAnswered() {
        let caller = callerNumber(), line = coLine(), answerer = pickExtension()
        let ring = random.int(2...30), talk = random.int(5...900)
        if !startsAtPrint, random.chance(50) { emit(at: clock, ext: answerer, co: line, dial: incoming(caller), code: "RC") }
        emit(leg: Leg(start: clock, ring: ring, duration: talk), ext: answerer, co: line, dial: incoming(caller),
             ringShown: ring, code: "")
        calls.append(SMDRExpectedCall(direction: .inbound, disposition: .answered, answeredBy: answerer))
        clock += ring + talk
    }

    mutating func ringGroupAnswered() {
        guard !startsAtPrint else { return incomingAnswered() }
        let caller = callerNumber(), line = coLine()
        let members = distinctExtensions(random.int(2...4))
        let answerer = members[random.int(0...(members.count - 1))]
        let ring = random.int(3...40), talk = random.int(5...900)
        for (index, member) in members.enumerated() where member != answerer {
            emit(leg: Leg(start: clock, ring: ring, duration: 0), ext: member, co: line, dial: incoming(caller),
                 ringShown: ring, code: index == 0 ? "NA" : "")
        }
        emit(leg: Leg(start: clock, ring: ring, duration: talk), ext: answerer, co: line, dial: incoming(caller),
             ringShown: ring, code: "")
        calls.append(SMDRExpectedCall(direction: .inbound, disposition: .answered, answeredBy: answerer))
        clock += ring + talk
    }

    mutating func missed() {
        let caller = callerNumber(), line = coLine()
        let members = startsAtPrint ? [pickExtension()] : distinctExtensions(random.int(1...3))
        let ring = random.int(5...60)
        for member in members {
            emit(leg: Leg(start: clock, ring: ring, duration: 0), ext: member, co: line, dial: incoming(caller),
                 ringShown: ring, code: "NA")
        }
        calls.append(SMDRExpectedCall(direction: .inbound, disposition: .missed))
        clock += ring
    }

    mutating func incomingTransferred() {
        let caller = callerNumber(), line = coLine()
        let pair = distinctExtensions(2)
        let ring = random.int(2...20), first = random.int(5...120), second = random.int(5...600)
        emit(leg: Leg(start: clock, ring: ring, duration: first), ext: pair[0], co: line, dial: incoming(caller),
             ringShown: ring, code: "TR")
        emit(leg: Leg(start: clock + ring + first, ring: 0, duration: second), ext: pair[1], co: line,
             dial: incoming(caller), ringShown: 0, code: "", transferMark: true)
        calls.append(SMDRExpectedCall(direction: .inbound, disposition: .answered, answeredBy: pair[0],
                                      transferredTo: pair[1]))
        clock += ring + first + second
    }

    mutating func outgoing(answered: Bool) {
        let caller = pickExtension(), line = coLine(), number = dialedNumber()
        let talk = answered ? random.int(3...1200) : 0
        emit(leg: Leg(start: clock, ring: 0, duration: talk), ext: caller, co: line, dial: number, ringShown: nil, code: "")
        calls.append(SMDRExpectedCall(direction: .outbound, disposition: answered ? .answered : .noAnswer))
        clock += talk
    }

    mutating func outgoingTransferred() {
        let pair = distinctExtensions(2), line = coLine(), number = dialedNumber()
        let first = random.int(5...120), second = random.int(5...600)
        emit(leg: Leg(start: clock, ring: 0, duration: first), ext: pair[0], co: line, dial: number, ringShown: nil, code: "")
        emit(leg: Leg(start: clock + first, ring: 0, duration: second), ext: pair[1], co: line, dial: number + "-",
             ringShown: nil, code: "TR")
        calls.append(SMDRExpectedCall(direction: .outbound, disposition: .answered, transferredTo: pair[1]))
        clock += first + second
    }

    mutating func intercom() {
        let pair = distinctExtensions(2)
        emit(at: clock, ext: pair[0], co: nil, dial: "EXT" + pair[1], code: "")
        calls.append(SMDRExpectedCall(direction: .internal, disposition: .answered))
    }

    // MARK: - Numbers

    /// Unique per call, so two generated calls never share a caller inside a grouping window.
    func callerNumber() -> String {
        "09" + pad((callIndex &* 7_919 &+ 1_234_567) % 1_000_000_000, 9)
    }

    func dialedNumber() -> String {
        "0" + pad((callIndex &* 104_729 &+ 7_654_321) % 1_000_000_000, 10)
    }

    mutating func coLine() -> String {
        let number = random.int(1...16)
        return generator.layout == .patternC ? pad(number, 4) : pad(number, 2)
    }

    mutating func pickExtension() -> String { extensions[random.int(0...(extensions.count - 1))] }

    mutating func distinctExtensions(_ count: Int) -> [String] {
        var picked: [String] = []
        while picked.count < count {
            let candidate = pickExtension()
            if !picked.contains(candidate) { picked.append(candidate) }
        }
        return picked
    }

    func incoming(_ caller: String) -> String {
        startsAtPrint ? "<    incoming    >" + caller : "<I>" + caller
    }

    // MARK: - Printing

    struct Leg {
        var start: Int
        var ring: Int
        var duration: Int
    }

    mutating func emit(leg: Leg, ext: String, co: String?, dial: String, ringShown: Int?, code: String,
                       transferMark: Bool = false) {
        let printed = startsAtPrint ? leg.start : leg.start + leg.ring + leg.duration
        emit(at: printed, ext: ext, co: co, dial: dial, code: code, ring: ringShown, duration: leg.duration,
             transferMark: transferMark && startsAtPrint)
    }

    mutating func emit(at seconds: Int, ext: String?, co: String?, dial: String, code: String, ring: Int? = nil,
                       duration: Int? = nil, transferMark: Bool = false) {
        if linesOnPage >= generator.pageLength - 3 { header() }
        let wall = generator.start.epochMillis / 1000 + Int64(generator.start.offsetSeconds) + Int64(seconds)
        let days = wall >= 0 ? wall / 86_400 : (wall - 86_399) / 86_400
        let secondOfDay = Int(wall - days * 86_400)
        let (year, month, day) = CivilCalendar.civil(fromDays: days)
        let date: String = switch generator.dateFormat {
        case .monthDayYear: pad(month, 2) + "/" + pad(day, 2) + "/" + pad(year % 100, 2)
        case .yearMonthDay: pad(year % 100, 2) + "/" + pad(month, 2) + "/" + pad(day, 2)
        case .dayMonthYear, .auto: pad(day, 2) + "/" + pad(month, 2) + "/" + pad(year % 100, 2)
        }
        let hour = secondOfDay / 3600, minute = secondOfDay / 60 % 60
        let twelveHour = generator.layout != .patternB
        let time = twelveHour
            ? pad(hour % 12 == 0 ? 12 : hour % 12, 2) + ":" + pad(minute, 2) + (hour < 12 ? "AM" : "PM")
            : pad(hour, 2) + ":" + pad(minute, 2)
        let durationText = duration.map { pad($0 / 3600, 2) + ":" + pad($0 / 60 % 60, 2) + "'" + pad($0 % 60, 2) }
        let ringText = ring.map { String($0 / 60) + "'" + pad($0 % 60, 2) }
        var row = Row(width: generator.layout == .patternC ? 120 : 80)
        switch generator.layout {
        case .patternA:
            row.put(date, at: 0); row.put(time, at: 9); row.put(ext ?? "", rightAlignedEndingAt: 21)
            row.put(co ?? "", at: 23); row.put(dial, at: 26); row.put(durationText == nil ? "" : (ringText ?? ""), at: 52)
            row.put(durationText ?? "", at: 57); row.put(code, at: 77)
        case .patternB:
            row.put(date, at: 0); row.put(time, at: 9); row.put(ext ?? "", rightAlignedEndingAt: 20)
            row.put(co ?? "", at: 22); row.put(dial, at: 25)
            if let durationText { row.put(durationText, at: 46); row.put("EU00000.00", at: 55) }
            row.put(code == "RC" ? "" : code, at: 77)
        case .patternC:
            row.put(date, at: 0); row.put(time, at: 9); row.put(ext ?? "", rightAlignedEndingAt: 21)
            row.put(co ?? "", at: 23); row.put(dial, at: 28); row.put(durationText == nil ? "" : (ringText ?? ""), at: 79)
            row.put(durationText ?? "", at: 84); row.put(code, at: 116)
        case .style824:
            let time824 = (transferMark ? "*" : " ") + time.drop { $0 == "0" }
            row.put(date, at: 0); row.put(time824, rightAlignedEndingAt: 17); row.put(ext ?? "", at: 19)
            row.put(co ?? "", at: 23); row.put(dial, at: 28)
            if let durationText { row.put(durationText + "\"", at: 60) }
            row.put("....", at: 70)
        }
        lines.append(row.text)
        linesOnPage += 1
    }

    mutating func header() {
        switch generator.layout {
        case .patternB:
            lines.append("\u{0C}  Date     Time   Ext CO Dial Number          Duration Cost       Acc code   CD ")
        case .style824:
            lines.append("  Date     Time   Ext  CO       Dial number                 Duration   Code")
        case .patternA, .patternC:
            lines.append("  Date     Time    Ext CO        Dial Number        Ring Duration  Acc code  CD ")
        }
        lines.append(String(repeating: "-", count: 80))
        linesOnPage = 2
    }

    func pad(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }
}

/// A fixed-width line being filled column by column.
private struct Row {
    var bytes: [UInt8]

    init(width: Int) { bytes = Array(repeating: 0x20, count: width) }

    mutating func put(_ text: String, at column: Int) {
        for (offset, byte) in text.utf8.enumerated() where column + offset < bytes.count { bytes[column + offset] = byte }
    }

    mutating func put(_ text: String, rightAlignedEndingAt lastColumn: Int) {
        put(text, at: lastColumn + 1 - text.utf8.count)
    }

    var text: String { String(decoding: bytes, as: UTF8.self) }
}
