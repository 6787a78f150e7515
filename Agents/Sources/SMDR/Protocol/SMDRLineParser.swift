/// Reads one SMDR line of any documented layout into an `SMDRRecord`.
///
/// The layouts differ in column widths (A, B, C), in whether Ring and Cost exist, and the
/// 824 style pads dates with spaces (`1/ 6/05`) and prints `<    incoming    >`. Rather than
/// one set of fixed offsets per layout, the scanner walks the fields in their common order:
/// date, time, extension, CO, number column, then tokens that are recognizable by shape
/// (ring `0'05`, duration `00:01'44`, cost `EU00000.00`, account code, condition code). The
/// number column ends at a run of two spaces or at the first ring/duration token, which holds
/// in every sample. It works on the line's UTF-8 bytes without regex or Foundation.
public enum SMDRLineParser {
    public static func parse(_ line: String) -> SMDRLineResult {
        do throws(LineFailure) { return .record(try record(of: line)) } catch { return error.result }
    }

    public static func parse(bytes: UnsafeBufferPointer<UInt8>) -> SMDRLineResult {
        do throws(LineFailure) { return .record(try record(bytes: bytes)) } catch { return error.result }
    }

    /// `parse` for the decoder: the record comes back as itself, anything else as the failure's
    /// result. Wrapped in an `SMDRLineResult` and bound out of it again, the 233-byte record
    /// was copied several times per line.
    static func record(of line: String) throws(LineFailure) -> SMDRRecord {
        var text = line
        // `withUTF8` rethrows untyped errors: the failure leaves the closure through a variable.
        var failure = LineFailure.unparsed("")
        let parsed = text.withUTF8 { bytes -> SMDRRecord? in
            do throws(LineFailure) { return try record(bytes: bytes) } catch {
                failure = error
                return nil
            }
        }
        guard let parsed else { throw failure }
        return parsed
    }

    static func record(bytes: UnsafeBufferPointer<UInt8>) throws(LineFailure) -> SMDRRecord {
        var end = bytes.count
        while end > 0, Byte.isBlank(bytes[end - 1]) { end -= 1 }
        var start = 0
        while start < end, Byte.isBlank(bytes[start]) { start += 1 }
        if start == end { throw LineFailure(result: .layoutLine(.blank)) }
        var cursor = SMDRByteCursor(bytes: bytes, position: start, end: end)
        if cursor.isDashRule() { throw LineFailure(result: .layoutLine(.rule)) }
        if cursor.startsWithWord("date") { throw LineFailure(result: .layoutLine(.header)) }
        do {
            return try LineScan.scan(&cursor)
        } catch {
            if cursor.containsWord("ALM") { throw .notACall("alarm line (not a call)") }
            throw error
        }
    }
}

struct LineFailure: Error {
    var result: SMDRLineResult

    static func unparsed(_ reason: String) -> LineFailure { LineFailure(result: .unparsed(reason: reason)) }
    static func notACall(_ reason: String) -> LineFailure { LineFailure(result: .notACall(reason: reason)) }

    /// Why the line is reported as unparsed; nil for a layout line, which carries nothing.
    var reason: String? {
        switch result {
        case .notACall(let reason), .unparsed(let reason): reason
        case .layoutLine, .record: nil
        }
    }
}

private enum LineScan {
    static let starredClock = "the PBX printed ** instead of the date or time (its clock was changed during the call)"

    /// Typed throws rather than `Result`: the record is large, and every `Result` wrapping and
    /// `flatMap` hop copied it.
    static func scan(_ cursor: inout SMDRByteCursor) throws(LineFailure) -> SMDRRecord {
        if cursor.peek == Byte.star, cursor.peek(at: 1) == Byte.star { throw .unparsed(starredClock) }
        guard let date = cursor.readDate() else { throw .unparsed("no date (like 07/12/20) at the start of the line") }
        cursor.skipSpaces()
        var transferMark = false
        if cursor.peek == Byte.star {
            if cursor.peek(at: 1) == Byte.star { throw .unparsed(starredClock) }
            transferMark = true
            cursor.advance()
            cursor.skipSpaces()
        }
        guard let (hour, minute) = cursor.readTime() else { throw .unparsed("no time (like 13:05 or 01:05PM) after the date") }
        let columns = readExtensionAndLine(&cursor)
        let column = try readNumberColumn(&cursor)
        let tail = try readTail(&cursor)
        return try buildRecord(date: date, hour: hour, minute: minute, transferMark: transferMark,
                               columns: columns, column: column, tail: tail, cursor: cursor)
    }

    struct Columns {
        var extensionRange: Range<Int>?
        var coRange: Range<Int>?
    }

    /// Extension and CO are both optional: the 824 ringing line has no extension, intercom
    /// lines (`402    EXT401`) have no CO. With one number before the number column, an
    /// incoming marker means it is the CO (a ringing trunk), anything else the extension.
    static func readExtensionAndLine(_ cursor: inout SMDRByteCursor) -> Columns {
        cursor.skipSpaces()
        guard let first = cursor.peekToken(), cursor.isExtensionLike(first) else { return Columns() }
        let afterFirst = cursor.spaceEnd(from: first.upperBound)
        if let second = cursor.token(at: afterFirst), cursor.isDigits(second), (1...4).contains(second.count) {
            cursor.position = cursor.spaceEnd(from: second.upperBound)
            return Columns(extensionRange: first, coRange: second)
        }
        cursor.position = afterFirst
        if cursor.peek == Byte.lessThan, cursor.isDigits(first), first.count <= 4 {
            return Columns(extensionRange: nil, coRange: first)
        }
        return Columns(extensionRange: first, coRange: nil)
    }

    struct NumberColumn {
        var incoming = false
        var incomingWord = false
        var ddi: Range<Int>?
        var content: Range<Int>
    }

    static func readNumberColumn(_ cursor: inout SMDRByteCursor) throws(LineFailure) -> NumberColumn {
        var column = NumberColumn(content: cursor.position..<cursor.position)
        while cursor.peek == Byte.lessThan {
            guard let close = cursor.find(Byte.greaterThan, within: 40) else {
                throw .unparsed("'<' without '>' in the number column")
            }
            let tagRange = cursor.position + 1..<close
            cursor.position = close + 1
            let saysIncoming = cursor.letters(in: tagRange, endWith: "incoming")
            if saysIncoming || cursor.letters(in: tagRange, are: "i") || cursor.letters(in: tagRange, are: "input") {
                column.incoming = true
                column.incomingWord = column.incomingWord || saysIncoming
            } else if cursor.letters(in: tagRange, are: "d") {
                let ddiStart = cursor.position
                while let byte = cursor.peek, byte != Byte.lessThan, !cursor.atDoubleSpace { cursor.advance() }
                column.ddi = ddiStart..<cursor.position
            } else {
                throw .unparsed("unknown marker <\(cursor.text(tagRange))> in the number column")
            }
        }
        let contentStart = cursor.position
        var contentEnd = contentStart
        while cursor.position < cursor.end {
            let gapStart = cursor.position
            cursor.skipSpaces()
            guard let token = cursor.peekToken(), cursor.position - gapStart < 2,
                  !cursor.isRing(token), !cursor.isDuration(token), !cursor.isDots(token) else { break }
            contentEnd = token.upperBound
            cursor.position = token.upperBound
        }
        cursor.position = contentEnd
        column.content = contentStart..<contentEnd
        return column
    }

    struct Tail {
        var ring: Int?
        var duration: Int?
        var durationQuote = false
        var dots = false
        var cost: Range<Int>?
        var account: Range<Int>?
        var condition: Range<Int>?
    }

    static func readTail(_ cursor: inout SMDRByteCursor) throws(LineFailure) -> Tail {
        var tail = Tail()
        while true {
            cursor.skipSpaces()
            guard let token = cursor.peekToken() else { return tail }
            cursor.position = token.upperBound
            let isLast = cursor.spaceEnd(from: token.upperBound) >= cursor.end
            if tail.ring == nil, tail.duration == nil, cursor.isRing(token) {
                tail.ring = cursor.ringSeconds(token)
            } else if tail.duration == nil, cursor.isDuration(token) {
                tail.duration = cursor.durationSeconds(token)
                tail.durationQuote = cursor.bytes[token.upperBound - 1] == Byte.quote
            } else if cursor.isDots(token) {
                tail.dots = true
            } else if tail.cost == nil, cursor.isCost(token) {
                tail.cost = token
            } else if tail.condition == nil, isLast, cursor.isConditionCode(token) {
                tail.condition = token
            } else if tail.account == nil, cursor.isDigits(token), token.count <= 10 {
                tail.account = token
            } else {
                throw .unparsed("unexpected '\(cursor.text(token))' after the number column")
            }
        }
    }

    static func buildRecord(date: SMDRDateFields, hour: Int, minute: Int, transferMark: Bool, columns: Columns,
                            column: NumberColumn, tail: Tail, cursor: SMDRByteCursor) throws(LineFailure) -> SMDRRecord {
        let content = column.content
        var kind = SMDRCallKind.outgoing
        var number = ""
        var callerName: String?
        var dialTransferred = false
        if column.incoming {
            kind = .incoming
            let digits = cursor.trailingNumber(in: content)
            if digits.count == content.count || digits.count >= 4 {
                number = cursor.text(digits)
                let name = cursor.trimmed(content.lowerBound..<digits.lowerBound)
                callerName = name.isEmpty ? nil : cursor.text(name)
            } else if !content.isEmpty {
                callerName = cursor.text(content)
            }
        } else if content.isEmpty {
            throw .unparsed("empty number column")
        } else if cursor.hasPrefixLetters("ext", in: content), cursor.isDigits(content.lowerBound + 3..<content.upperBound),
                  content.count > 3 {
            kind = .intercom
            number = cursor.text(content.lowerBound + 3..<content.upperBound)
        } else if cursor.isDialString(content) {
            var digitsEnd = content.upperBound
            if cursor.bytes[digitsEnd - 1] == Byte.dash {
                dialTransferred = true
                digitsEnd -= 1
            }
            number = cursor.text(withoutPauses: content.lowerBound..<digitsEnd)
        } else if let reason = nonCallReason(cursor.text(content)) {
            throw .notACall(reason)
        } else {
            throw .unparsed("number column not understood: '\(cursor.text(content))'")
        }
        let layout = layoutOf(columns: columns, column: column, tail: tail, lineLength: cursor.end)
        return SMDRRecord(
            dateFields: date, hour: hour, minute: minute, transferMark: transferMark,
            extension: columns.extensionRange.map { cursor.text($0) }, coLine: columns.coRange.map { cursor.text($0) },
            kind: kind, number: number, callerName: callerName,
            ddi: column.ddi.map { cursor.text($0) }, dialTransferred: dialTransferred, ringSec: tail.ring,
            durationSec: tail.duration, cost: tail.cost.map { cursor.text($0) }, accountCode: tail.account.map { cursor.text($0) },
            conditionCode: tail.condition.map { cursor.text($0) }, layout: layout)
    }

    static func layoutOf(columns: Columns, column: NumberColumn, tail: Tail, lineLength: Int) -> SMDRLayout {
        if (columns.coRange?.count ?? 0) == 4 || lineLength > 100 { return .patternC }
        if tail.cost != nil { return .patternB }
        if column.incomingWord || tail.durationQuote || tail.dots { return .style824 }
        return .patternA
    }

    /// FACTS.md: the number column also carries ACD log in/out, hotel check in/out and timed
    /// reminder entries; they are understood but are not calls.
    static func nonCallReason(_ text: String) -> String? {
        let lowered = text.lowercased()
        if lowered.hasPrefix("log in") || lowered.hasPrefix("log out") { return "LOG IN/LOG OUT line (not a call)" }
        if lowered.hasPrefix("check in") || lowered.hasPrefix("check out") { return "hotel check in/out line (not a call)" }
        if lowered.hasPrefix("timed reminder") { return "timed reminder line (not a call)" }
        if lowered.hasPrefix("in the office") { return "absent message line (not a call)" }
        return nil
    }
}
